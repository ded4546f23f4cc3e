#include "loopperf/diff/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace loopperf::diff {

ProportionTest two_proportion_test(double x1, double n1, double x2, double n2, double run_noise) {
  ProportionTest t;
  if (n1 <= 0 || n2 <= 0) return t;
  double pooled = (x1 + x2) / (n1 + n2);
  if (pooled <= 0 || pooled >= 1) return t;  // both 0% or both 100%: nothing can differ
  const double drift = run_noise * std::min(pooled, 1 - pooled);  // a 90% share varies like its 10%
  double se = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2) + 2 * drift * drift);
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

ProportionTest rescaled_test(const ShareCounts& c, const Scale& s, double run_noise) {
  ProportionTest t;
  if (c.n1 <= 0 || c.n2 <= 0) return t;
  // Pooled under H0 (head share = scale x base share = scale x pi): pi estimated from both sides, as
  // the plain test pools, so that 0% -> 100% still has a variance.
  const double k = s.value;
  double pi = std::min((c.x1 + c.x2 / k) / (c.n1 + c.n2), 1.0);
  double q = std::min(k * pi, 1.0);
  const double drift1 = run_noise * std::min(k * pi, 1 - k * pi), drift2 = run_noise * std::min(q, 1 - q);
  double var = k * k * pi * (1 - pi) / c.n1 + q * (1 - q) / c.n2 + q * q * s.var_log + drift1 * drift1 +
               drift2 * drift2;
  if (var <= 0) return t;
  t.z = (c.x2 / c.n2 - k * c.x1 / c.n1) / std::sqrt(var);
  t.p = normal_two_sided_p(t.z);
  return t;
}

namespace {

// The fallback when the rows agree on no scale: their median ratio, as uncertain as one typical row
// (the median of the rows' own sampling variances, plus run noise): wider than an agreeing set's
// error, and unlike the rows' spread, not inflated by the rows that changed.
Scale median_scale(const std::vector<const ShareCounts*>& candidates, double value, double run_noise) {
  std::vector<double> sampling;
  for (const ShareCounts* c : candidates)
    sampling.push_back((1 - std::min(c->x1 / c->n1, 1.0)) / c->x1 + (1 - std::min(c->x2 / c->n2, 1.0)) / c->x2);
  Scale s;
  s.value = value;
  s.var_log = *median(sampling) + 2 * run_noise * run_noise;
  s.rows = candidates.size();
  s.median = true;
  return s;
}

}  // namespace

Scale estimate_scale(const std::vector<ShareCounts>& rows, double min_count, size_t min_rows,
                     double run_noise) {
  std::vector<const ShareCounts*> candidates;
  std::vector<double> ratios;
  for (const auto& r : rows) {
    if (r.x1 < min_count || r.x2 < min_count) continue;
    candidates.push_back(&r);
    ratios.push_back((r.x2 / r.n2) / (r.x1 / r.n1));
  }
  Scale s;
  if (candidates.size() < min_rows) return s;
  s.value = *median(ratios);  // robust start: half the rows may have changed
  const Scale seed = median_scale(candidates, s.value, run_noise);
  std::vector<bool> in(candidates.size(), false);
  for (int round = 0; round < 20; round++) {
    bool changed = false;
    double share1 = 0, share2 = 0, x1 = 0, x2 = 0, squares1 = 0, squares2 = 0;
    size_t used = 0;
    for (size_t i = 0; i < candidates.size(); i++) {
      bool inlier = std::fabs(rescaled_test(*candidates[i], s, run_noise).z) < 3;
      changed |= inlier != in[i];
      in[i] = inlier;
      if (!inlier) continue;
      share1 += candidates[i]->x1 / candidates[i]->n1;
      share2 += candidates[i]->x2 / candidates[i]->n2;
      x1 += candidates[i]->x1;
      x2 += candidates[i]->x2;
      squares1 += std::pow(candidates[i]->x1 / candidates[i]->n1, 2);
      squares2 += std::pow(candidates[i]->x2 / candidates[i]->n2, 2);
      used++;
    }
    if (used < min_rows) return seed;
    s.value = share2 / share1;
    // Sampling, plus each row's own run-to-run noise (independent rows: the sum's relative variance
    // is run_noise^2 x sum of squared shares / squared sum).
    s.var_log = (1 - std::min(share1, 1.0)) / x1 + (1 - std::min(share2, 1.0)) / x2 +
                run_noise * run_noise * (squares1 / (share1 * share1) + squares2 / (share2 * share2));
    s.rows = used;
    if (!changed && round > 0) break;
  }
  return s;
}

}  // namespace loopperf::diff
