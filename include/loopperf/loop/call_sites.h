// Which libuv phase a pc inside uv_run belongs to.
//
// uv__run_pending and uv__run_closing_handles are inlined into uv_run and the pending phase is
// reached through tail calls, so the callee's name cannot be trusted; the return address inside
// uv_run can. The table is built from uv_run's machine code: direct calls (e8 rel32) to the named
// phase functions are anchors, and every other offset is placed by the region between anchors
// (libuv's loop body order: pending, idle, prepare, poll, pending, check, close, timers).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "loopperf/loop/labels.h"

namespace loopperf::loop {

struct UvRunCode {
  uint64_t start = 0;          // vaddr of uv_run
  std::vector<uint8_t> bytes;  // its code
  // Raw name of the function that starts exactly at `vaddr`, "" when none.
  std::function<std::string(uint64_t vaddr)> symbol_at;
};

class CallSiteTable {
 public:
  struct Site {
    uint64_t return_offset = 0;  // offset of the instruction after the call
    std::string callee;          // symbol name, clone suffix removed
  };

  static CallSiteTable build(const UvRunCode& code);

  bool usable() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  const std::vector<Site>& direct_calls() const { return sites_; }

  // Phase of the code at `offset` from uv_run's start. For a caller frame pass the return address'
  // offset (the instruction after the call); for a leaf frame the pc's offset.
  Phase phase_at(uint64_t offset) const;

 private:
  const Site* call_returning_to(uint64_t offset) const;
  std::vector<Site> sites_;
  std::string problem_;
  uint64_t size_ = 0;
  uint64_t idle_ = 0, prepare_ = 0, poll_ = 0, check_ = 0;  // return offsets of the anchor calls
  uint64_t first_timers_ = 0;  // return offset of a timers call before idle (0: none)
  uint64_t end_timers_ = 0;    // start of the end-of-iteration update_time + timers (0: none)
};

// The phase a direct callee of uv_run stands for, when its name alone says it.
std::optional<Phase> phase_of_callee(std::string_view callee);

}  // namespace loopperf::loop
