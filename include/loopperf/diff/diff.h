// `loopperf diff BASE HEAD`: which functions, phases and activities take a larger share of the time
// in HEAD than in BASE, by more than a threshold and more than sampling noise explains
// (docs/diff.md has the method and the reasoning behind it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/diff/stats.h"
#include "loopperf/profile/profile.h"

namespace loopperf::diff {

// What a row measures. Function rows are shares of all samples of the profile; phase and activity
// rows are shares of the samples of one loop-thread role; loop rows come from loop metadata.
enum class Family { kSelf, kTotal, kPhase, kActivity, kLoop };
std::string_view family_name(Family f);  // "self", "total", "phase", "activity", "loop"

enum class Verdict {
  kRegression,      // share up by >= threshold and significant, and so against the rest of the profile
  kImprovement,     // the same, down (or up where higher is better: idle-wait)
  kRelative,        // significant and >= threshold, but against the rest of the profile not both
  kNotSignificant,  // tested; sampling noise explains the change
  kBelowThreshold,  // significant but smaller than the threshold, or too small a share to reach it
  kFewSamples,      // too few samples in the row for the normal approximation; never reported
};
std::string_view verdict_name(Verdict v);  // "regression", "improvement", "relative", ...

struct Row {
  Family family = Family::kSelf;
  std::string population;  // "all threads", "main-loop", "worker-loop", "loop"
  std::string name;        // "scoreRecords (bench.js)", "node::fs::Read", "timers", "sync-io", "utilization"
  bool higher_is_worse = true;  // false for idle-wait: more idle loop is good news
  double base_count = 0, base_total = 0, head_count = 0, head_total = 0;  // samples (x and n), all runs
  std::vector<RunCount> base_runs, head_runs;  // per recording, in the order of Side::files
  double base_share = 0, head_share = 0;  // 0..1; the mean of the runs' shares when runs are measured
  double change = 0;                                                      // head_share - base_share
  double rescaled_change = 0;           // head_share - scale * base_share (scale of the population)
  bool tested = false;                  // counted in the correction; z and p are meaningful
  double z = 0, p = 1, p_adjusted = 1;  // p_adjusted: Holm over all tested rows
  double rescaled_z = 0, rescaled_p_adjusted = 1;  // the same test of rescaled_change
  double df = 0;  // degrees of freedom of z as Student's t (runs measured); 0: z is a normal z
  // The run noise its test allowed: measured for rows of its kind and size when runs are measured
  // (RunNoise::of), else the option's. Set for tested rows.
  double run_noise = 0;
  Verdict verdict = Verdict::kBelowThreshold;

  bool reported() const {
    return verdict == Verdict::kRegression || verdict == Verdict::kImprovement ||
           verdict == Verdict::kRelative;
  }
};

// The samples a family of rows divides by, and how much the unchanged code's share moved in it.
struct Population {
  std::string name;  // "all threads", "main-loop", "worker-loop"
  double base_samples = 0, head_samples = 0;
  // What an unchanged function's share was multiplied by because other code got faster or slower,
  // from the functions with >= 10 samples on both sides that agree on it (stats.h estimate_scale).
  // When fewer than 3 agree, the median of their ratios with their spread as its error
  // (scale_median); 1 when fewer than 3 functions have the samples (scale_rows == 0).
  double scale = 1;
  double scale_se = 0;  // relative standard error of scale
  size_t scale_rows = 0;
  bool scale_median = false;
};

struct Side {
  std::string file;                // as given on the command line: a file or a directory (set by the caller)
  std::vector<std::string> files;  // the recordings, one per run (set by the caller)
  size_t runs = 0;                 // recordings compared
  std::string cmdline;             // the first recording's
  double samples = 0;              // sum of the count sample type over the runs
  int64_t duration_nanos = 0;      // summed over the runs
};

struct Skipped {
  std::string what;    // "loop utilization", "worker-loop phases"
  std::string reason;  // "not in the base profile"
};

// How much unchanged shares vary between runs, measured when a side has several recordings
// (docs/diff.md, "Several recordings per side"). The moderated test's prior for a row should come
// from rows like it, and rows differ by kind as well as by size: a function's share moves with its
// own code, while a phase, an activity or a loop metric aggregates many functions and moves with
// start-up, the collector and the machine (on a loaded runner, activity `native` moved by ~15% of
// its share between runs while functions of its size moved by ~3%).
struct RunNoise {
  RunNoiseTrend functions;   // self rows' points: for self and total rows, by size
  RunNoiseTrend aggregates;  // phase, activity and loop rows' points: for those rows, by size
  RunNoiseTrend all;         // every point: its overall() is the level printed as "run noise"
  // The noise for a row of family `f` and spread min(share, 1 - share): its kind's trend, or all
  // points' when its kind has none.
  double of(Family f, double spread) const;
  const RunNoiseTrend& for_functions() const;  // functions, or all when there are no function points
};

struct DiffOptions {
  double threshold = 0.02;   // smallest change reported, as a fraction (0.02 = 2 percentage points)
  double confidence = 0.99;  // family-wise: 1 - the chance of any false alarm among all rows tested
  // Run-to-run variation of a share beyond sampling, relative (docs/diff.md, "Run-to-run noise"): a
  // small allowance; JIT-stable code measured within sampling noise once sampling is jittered.
  double run_noise = 0.02;
  // With several recordings on a side the run noise is measured instead; each row's own run variance
  // is weighed against it as if it were this many more runs (docs/diff.md).
  double prior_runs = 4;
};

struct DiffResult {
  Side base, head;
  DiffOptions options;
  std::string count_type;  // the sample type used as n: "samples"
  std::vector<Population> populations;
  // Reported rows first (regressions, improvements, relative), then the other tested rows, then the
  // untested ones; within each by |change|, largest first.
  std::vector<Row> rows;
  std::vector<Skipped> skipped;
  size_t tests = 0;  // rows tested, the m of the Holm correction
  // Several recordings on a side: the run noise measured across rows (relative, as --run-noise;
  // run_noise is the level over all rows, `noise` what each row's test and the scales use), and
  // rows tested with run_means_test. Otherwise run_noise is the option's, assumed, for every row.
  bool runs_measured = false;
  double run_noise = 0;
  RunNoise noise;

  size_t count(Verdict v) const;
};

// Compares the shares of BASE and HEAD, each one or several recordings of the same program (runs).
// Input errors (ErrorCode::kInput): different sample types, no count sample type, different recording
// modes, a profile without samples, a side without recordings.
Result<DiffResult> diff_runs(const std::vector<const profile::Profile*>& base,
                             const std::vector<const profile::Profile*>& head, const DiffOptions& opt);
// One recording per side.
Result<DiffResult> diff_profiles(const profile::Profile& base, const profile::Profile& head,
                                 const DiffOptions& opt);

// "2%", "2", "0.5 %" (percentage points / percent) -> 0.02, 0.02, 0.005. Accepts 0 < value < 100
// (0 too with allow_zero); otherwise a usage error whose hint shows `option example`.
Result<double> parse_percent(std::string_view text, std::string_view option, std::string_view example = "2%",
                             bool allow_zero = false);

// How a row names a function: JavaScript "name (file.js)" (no directory, no line: both change between
// two checkouts of one program), native the short_name of report ("node::fs::Read").
std::string function_key(const profile::Profile& p, const profile::Location& loc, const profile::Line& line);

}  // namespace loopperf::diff
