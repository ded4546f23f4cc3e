// The statistics behind `loopperf diff` (docs/diff.md says what is tested and why): a pooled
// two-proportion z-test per row, Holm's step-down correction across rows, a median-of-ratios scale.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace loopperf::diff {

struct ProportionTest {
  double z = 0;   // > 0 when the head share is larger (Student's t for run_means_test)
  double p = 1;   // two-sided
  double df = 0;  // degrees of freedom of a t statistic; 0: z is standard normal
};

// H0: both samples come from one proportion. x of n "successes" in base (1) and head (2); the
// standard error uses the pooled proportion P = (x1 + x2) / (n1 + n2). A pooled proportion of 0 or 1
// (no variance) gives z = 0, p = 1. Requires n1, n2 > 0.
//
// `run_noise` is the run-to-run variation of a share that sampling does not explain, as a relative
// standard deviation (0.05: an unchanged 30% share is 30% +- 1.5 pp from one run to the next): each
// side's variance gains (run_noise x min(P, 1 - P))^2. 0 is the textbook binomial test.
ProportionTest two_proportion_test(double x1, double n1, double x2, double n2, double run_noise = 0);

// Two-sided p-value of a standard normal statistic: P(|Z| >= |z|).
double normal_two_sided_p(double z);
// The |z| a single test needs for a two-sided p-value below `alpha` (0 < alpha < 1).
double normal_critical_z(double alpha);

// Two-sided p-value of Student's t with `df` degrees of freedom (df > 0): P(|T| >= |t|), from the
// regularized incomplete beta function I_{df/(df+t^2)}(df/2, 1/2).
double student_t_two_sided_p(double t, double df);
// The regularized incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0.
double regularized_beta(double x, double a, double b);

// Holm's step-down adjusted p-values, in the input order: p_(i) * (m - i + 1) for the i-th smallest,
// made monotone and capped at 1. Rejecting where adjusted < alpha controls the family-wise error
// rate at alpha under any dependence between the tests (rows of one profile are dependent).
std::vector<double> holm_adjust(const std::vector<double>& p);

// Median of `values` (mean of the middle two for an even count); nullopt when empty.
std::optional<double> median(std::vector<double> values);

// How much unchanged shares vary between runs, by the size of the share. Rows of different sizes are
// different kinds of code: a benchmark's big functions move by a few percent of their share from run
// to run, start-up, kernel and collector rows of 1-5% by 15-40% of theirs (measured on a loaded
// 2-vCPU runner, docs/diff.md). One level for every row widens the big rows' errors several times
// over, and hides a doubled function, while narrowing the small rows'. So, as limma's variance trend
// does for genes, each row's prior comes from the rows of about its size: the median excess of the
// nearest points in log(min(share, 1 - share)).
class RunNoiseTrend {
 public:
  // One point per row and side: min(m, 1 - m) of its mean run share m, and its relative_run_excess.
  void add(double spread, double excess);
  size_t points() const { return points_.size(); }
  // The level over all points: sqrt of their median excess (0 when that is not positive).
  double overall() const;
  // The level for a share of this spread: sqrt of the median excess of its max(9, points / 4)
  // nearest points (all of them when there are fewer); 0 when not positive, overall() for spread 0.
  double at(double spread) const;

 private:
  std::vector<std::pair<double, double>> points_;  // (log spread, excess)
};

// x of n samples in base (1) and head (2).
struct ShareCounts {
  double x1 = 0, n1 = 0, x2 = 0, n2 = 0;
};

// What an unchanged row's share was multiplied by because other rows grew or shrank (shares add up to
// one, so one function doubling shrinks every other share). Estimated from rows with >= min_count
// samples on both sides: seeded with the median of their head/base share ratios weighted by their
// samples (the ratio under which half the samples lie: a few small rows cannot move it), then, until the set
// stops changing, the ratio of summed shares over the rows consistent with it (|rescaled z| < 3), so
// that the big, precise rows dominate and the changed ones are left out. When fewer than min_rows
// agree on any scale (two of five functions changed, or moved by more than their noise), that weighted
// median stays, as uncertain as one typical row: scale 1 would compare raw shares, and every sibling
// of one function that grew would count as an improvement.
struct Scale {
  double value = 1;
  double var_log = 0;  // variance of log(value): (1 - P1) / X1 + (1 - P2) / X2 over the rows used, + run noise
  size_t rows = 0;     // rows it rests on: the agreeing ones, or all candidates for a median
  bool median = false;  // the rows did not agree: value is their median ratio, var_log one row's
  // rows 0: fewer than min_rows candidates, value fixed at 1 (shares compared as they are)
};
// `run_noise` as in two_proportion_test: in the consistency test and in var_log. With a `trend`
// (runs measured), each row's run noise is the trend's at its pooled share instead.
Scale estimate_scale(const std::vector<ShareCounts>& rows, double min_count, size_t min_rows,
                     double run_noise = 0, const RunNoiseTrend* trend = nullptr);

// Is the head share different from scale x base share? The standard error is pooled under that null
// (scale 1 gives two_proportion_test) and widened by the scale's own uncertainty, which makes it
// conservative for the rows the scale was estimated from.
// `run_noise` as in two_proportion_test, on each side's share under that null.
ProportionTest rescaled_test(const ShareCounts& c, const Scale& s, double run_noise = 0);

// One recording's samples in a row (x) of its population (n).
struct RunCount {
  double x = 0, n = 0;
};

// When a side has several recordings, how much unchanged shares vary between runs is measured
// rather than assumed (docs/diff.md, "Several recordings per side").
//
// A row's excess run variance on one side, relative to its share: (s^2 / c - binomial) / min(m, 1-m)^2,
// where s^2 is the variance of the runs' shares, m their mean, binomial the variance sampling alone
// gives one run, and c the median of chi^2_{k-1} / (k-1), so that the median over rows estimates
// the run noise^2 rather than ln 2 of it. nullopt with fewer than 2 runs or a share outside 1-99%.
std::optional<double> relative_run_excess(const std::vector<RunCount>& runs);

// Is head's mean run share different from scale x base's? Welch's t on the runs' shares with each
// side's variance moderated (Smyth's moderated t, with a fixed prior weight): the prior is what
// sampling gives one run plus (run_noise x min(share, 1 - share))^2, worth `prior_df` runs, pooled
// with the side's own variance of (k - 1) degrees of freedom, so that three runs that happen to agree
// closely cannot make a tiny error, and one odd run widens only its own rows. Sides of one run
// contribute the prior alone. The scale's uncertainty widens the error as in rescaled_test.
ProportionTest run_means_test(const std::vector<RunCount>& base, const std::vector<RunCount>& head,
                              const Scale& s, double run_noise, double prior_df);

}  // namespace loopperf::diff
