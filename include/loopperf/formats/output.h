// Picks a writer from an output file name. pprof is canonical; every other format is a writer over
// the same in-memory Profile (docs/formats.md).
#pragma once

#include <optional>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

enum class OutputFormat { kPprof, kSpeedscope, kCpuprofile, kFolded, kHtml };

// Checked before any recording starts, so a typo in -o costs nothing. An unknown ending is a usage
// error whose hint lists the supported ones.
Result<OutputFormat> output_format_for(const std::string& path);
const char* output_format_name(OutputFormat f);
// "x.pb.gz (pprof), x.speedscope.json (speedscope), ..." for help texts and hints.
std::string supported_outputs();

struct WriteOptions {
  // Synthetic "[poll]" ... root frames. Default: on for flame-style outputs (speedscope, folded,
  // HTML), off for .cpuprofile; never part of pprof (the phase is a label there).
  std::optional<bool> phase_roots;
  std::string value_type;  // sample type the flame-style writers weigh by; empty = their default
  std::string thread;      // .cpuprofile: thread selector (FilterSpec::threads); empty = main loop
  bool all_threads = false;  // .cpuprofile: every thread in the profile (it was filtered already)
};

// Serializes `p` in the format `path` names and writes it atomically.
Status write_profile(const profile::Profile& p, const std::string& path, const WriteOptions& opt = {});
// The same, to bytes.
Result<std::string> encode_profile(const profile::Profile& p, OutputFormat f, const WriteOptions& opt = {});

}  // namespace loopperf::formats
