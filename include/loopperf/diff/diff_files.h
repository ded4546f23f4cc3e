// `diff BASE HEAD`: read both profiles, compare them, optionally write the pprof diff profile, and
// render the verdict (docs/diff.md). The exit status is the CLI's: it is told how many regressions.
#pragma once

#include <cstddef>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/diff/diff.h"

namespace loopperf::diff {

enum class DiffFormat { kText, kMarkdown, kJson };

struct DiffFilesConfig {
  std::string base, head;  // pprof files, or directories of them (one recording per run)
  DiffOptions options;     // threshold, confidence, run noise
  DiffFormat format = DiffFormat::kText;
  std::string output;      // -o: the diff profile (pprof only); "" = none
  bool all = false;        // --all: every tested row
};

struct DiffOutcome {
  std::string text;         // the rendered verdict
  size_t regressions = 0;   // rows reported as regressions
};

Result<DiffOutcome> diff_files(const DiffFilesConfig& cfg);

}  // namespace loopperf::diff
