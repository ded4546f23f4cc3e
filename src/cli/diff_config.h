// `loopperf diff` options: the raw strings, validated into the diff stage's config apart from any
// side effects (unit-tested).
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/diff/diff_files.h"

namespace loopperf::cli {

struct DiffArgs {
  std::string base, head;
  std::string threshold = "2%";
  std::string confidence = "99%";
  std::string run_noise = "2%";
  std::string format = "text";
  std::string output;
  bool fail = false;
  bool all = false;
};

struct DiffCommandConfig {
  diff::DiffFilesConfig files;
  bool fail = false;  // --fail: a regression sets the exit status
};

Result<DiffCommandConfig> make_diff_config(const DiffArgs& args);

}  // namespace loopperf::cli
