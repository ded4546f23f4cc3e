// Turns one perf sample into frames according to the unwinding mode:
//   fp    the kernel's frame-pointer callchain only (cheapest, breaks in code without frame pointers)
//   dwarf CFI (libunwind) wherever a module has it; frame pointers only for JIT code and code without CFI
//   auto  frame pointers where they are trustworthy (JIT, builtins, the node binary), CFI elsewhere,
//         splicing the kernel's callchain back in as soon as the walk is back in frame-pointer code
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/sample/sampler.h"
#include "loopperf/unwind/callchain.h"
#include "loopperf/unwind/hybrid.h"
#include "loopperf/unwind/modules.h"

namespace loopperf::unwind {

enum class UnwindMode { kFp, kDwarf, kAuto };
Result<UnwindMode> parse_unwind_mode(const std::string& s);
const char* unwind_mode_name(UnwindMode m);

// The user registers a sample carries (PERF_SAMPLE_REGS_USER with kSampledRegsMask); valid = false
// when it has none.
UserRegs user_regs_from_sample(const sample::RawSample& s);

class SampleUnwinder {
 public:
  // `fp_binary`: the target's executable when it is known to keep frame pointers (node), for auto.
  // `files`: the target's registry, shared with the symbolizer.
  SampleUnwinder(std::shared_ptr<process::TargetFiles> files, UnwindMode mode, const std::string& fp_binary);

  void refresh_modules();  // call while the target lives (new mappings: dlopen'd addons)
  // Returns how the user part's walk ended.
  EndReason frames_for(const sample::RawSample& s, std::vector<profile::Frame>& out);

  UnwindMode mode() const { return mode_; }
  // Samples per EndReason (user part of the stack).
  const std::array<uint64_t, static_cast<size_t>(EndReason::kCount)>& end_counts() const { return ends_; }

 private:
  UnwindMode mode_;
  ModuleMap modules_;
  std::unique_ptr<HybridUnwinder> unwinder_;
  std::vector<uint64_t> user_chain_;
  uint64_t last_refresh_ns_ = 0;
  std::array<uint64_t, static_cast<size_t>(EndReason::kCount)> ends_{};
};

}  // namespace loopperf::unwind
