#include "loopperf/diff/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace loopperf::diff {

ProportionTest two_proportion_test(double x1, double n1, double x2, double n2) {
  ProportionTest t;
  if (n1 <= 0 || n2 <= 0) return t;
  double pooled = (x1 + x2) / (n1 + n2);
  if (pooled <= 0 || pooled >= 1) return t;  // both 0% or both 100%: nothing can differ
  double se = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  t.z = (x2 / n2 - x1 / n1) / se;
  t.p = normal_two_sided_p(t.z);
  return t;
}

double normal_two_sided_p(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

double normal_critical_z(double alpha) {
  // erfc is monotone; bisection to 1e-12 is plenty and needs no tables.
  double lo = 0, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
    double mid = (lo + hi) / 2;
    (normal_two_sided_p(mid) > alpha ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  const size_t m = p.size();
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (size_t i = 0; i < m; i++) {
    double a = std::min(1.0, static_cast<double>(m - i) * p[order[i]]);
    running = std::max(running, a);  // step-down: never smaller than a smaller p's adjustment
    adjusted[order[i]] = running;
  }
  return adjusted;
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace loopperf::diff
