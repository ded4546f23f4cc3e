// Maps a uv_run frame of a recorded profile to its libuv phase, using the call-site table of the
// binary that frame lies in (node itself, or a shared libuv). Tables are cached per build id.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "loopperf/loop/call_sites.h"
#include "loopperf/loop/classifier.h"
#include "loopperf/profile/profile.h"
#include "loopperf/symbols/process_symbolizer.h"

namespace loopperf::loop {

class UvRunPhases {
 public:
  UvRunPhases(const profile::Profile& p, symbols::ProcessSymbolizer& symbolizer)
      : profile_(p), symbolizer_(symbolizer) {}

  Phase operator()(const FrameRef& uv_run_frame);
  UvRunPhaseFn as_fn() {
    return [this](const FrameRef& f) { return (*this)(f); };
  }
  // Why some phases are unknown (one line per binary), for the warning.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  struct Binary {
    bool usable = false;
    uint64_t uv_run = 0, uv_run_size = 0;
    CallSiteTable table;
    symbols::ElfFile* elf = nullptr;
  };
  Binary& binary_for(const profile::Mapping& m);

  const profile::Profile& profile_;
  symbols::ProcessSymbolizer& symbolizer_;
  std::map<std::string, Binary> binaries_;  // by mapping file
  std::vector<std::string> problems_;
};

// Builds the table for one ELF file (exposed for tests: the real node binary).
CallSiteTable call_sites_for(symbols::ElfFile& elf, uint64_t* uv_run_vaddr = nullptr, std::string* problem = nullptr,
                             uint64_t* uv_run_size = nullptr);

}  // namespace loopperf::loop
