// The statistics behind `loopperf diff` (docs/diff.md says what is tested and why): a pooled
// two-proportion z-test per row, Holm's step-down correction across rows, a median-of-ratios scale.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace loopperf::diff {

struct ProportionTest {
  double z = 0;  // > 0 when the head share is larger
  double p = 1;  // two-sided
};

// H0: both samples come from one proportion. x of n "successes" in base (1) and head (2); the
// standard error uses the pooled proportion (x1 + x2) / (n1 + n2). A pooled proportion of 0 or 1
// (no variance) gives z = 0, p = 1. Requires n1, n2 > 0.
ProportionTest two_proportion_test(double x1, double n1, double x2, double n2);

// Two-sided p-value of a standard normal statistic: P(|Z| >= |z|).
double normal_two_sided_p(double z);
// The |z| a single test needs for a two-sided p-value below `alpha` (0 < alpha < 1).
double normal_critical_z(double alpha);

// Holm's step-down adjusted p-values, in the input order: p_(i) * (m - i + 1) for the i-th smallest,
// made monotone and capped at 1. Rejecting where adjusted < alpha controls the family-wise error
// rate at alpha under any dependence between the tests (rows of one profile are dependent).
std::vector<double> holm_adjust(const std::vector<double>& p);

// Median of `values` (mean of the middle two for an even count); nullopt when empty.
std::optional<double> median(std::vector<double> values);

}  // namespace loopperf::diff
