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

namespace {

// The continued fraction of the incomplete beta function, evaluated by the modified Lentz method;
// converges fast for x < (a + 1) / (a + b + 2), which regularized_beta arranges.
double beta_continued_fraction(double x, double a, double b) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  auto guard = [&](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1, d = 1 / guard(1 - (a + b) * x / (a + 1)), h = d;
  for (int m = 1; m <= 500; m++) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a - 1 + m2) * (a + m2));  // even step
    d = 1 / guard(1 + num * d);
    c = guard(1 + num / c);
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));  // odd step
    d = 1 / guard(1 + num * d);
    c = guard(1 + num / c);
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < kEps) break;
  }
  return h;
}

}  // namespace

double regularized_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(a * std::log(x) + b * std::log1p(-x) - (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b)));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(x, a, b) / a;
  return 1 - front * beta_continued_fraction(1 - x, b, a) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (!(df > 0)) return 1;
  return regularized_beta(df / (df + t * t), df / 2, 0.5);
}

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

// The value under which half of the total weight lies (the lower one at an exact half).
double weighted_median(const std::vector<double>& values, const std::vector<double>& weights) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  const double half = std::accumulate(weights.begin(), weights.end(), 0.0) / 2;
  double below = 0;
  for (size_t i : order) {
    below += weights[i];
    if (below >= half) return values[i];
  }
  return values[order.back()];
}

// The fallback when the rows agree on no scale: their median ratio, as uncertain as one typical row
// (the median of the rows' own sampling variances, plus run noise): wider than an agreeing set's
// error, and unlike the rows' spread, not inflated by the rows that changed.
Scale median_scale(const std::vector<const ShareCounts*>& candidates, double value,
                   const std::vector<double>& run_noise) {
  std::vector<double> sampling, drift;
  for (size_t i = 0; i < candidates.size(); i++) {
    const ShareCounts* c = candidates[i];
    sampling.push_back((1 - std::min(c->x1 / c->n1, 1.0)) / c->x1 + (1 - std::min(c->x2 / c->n2, 1.0)) / c->x2);
    drift.push_back(run_noise[i] * run_noise[i]);
  }
  Scale s;
  s.value = value;
  s.var_log = *median(sampling) + 2 * *median(drift);
  s.rows = candidates.size();
  s.median = true;
  return s;
}

}  // namespace

Scale estimate_scale(const std::vector<ShareCounts>& rows, double min_count, size_t min_rows,
                     double run_noise, const RunNoiseTrend* trend) {
  std::vector<const ShareCounts*> candidates;
  std::vector<double> ratios, weights, noise;  // weights: samples; noise: each candidate's run noise
  for (const auto& r : rows) {
    if (r.x1 < min_count || r.x2 < min_count) continue;
    candidates.push_back(&r);
    ratios.push_back((r.x2 / r.n2) / (r.x1 / r.n1));
    weights.push_back(r.x1 + r.x2);
    const double pooled = (r.x1 + r.x2) / (r.n1 + r.n2);
    noise.push_back(trend ? trend->at(std::min(pooled, 1 - pooled)) : run_noise);
  }
  Scale s;
  if (candidates.size() < min_rows) return s;
  s.value = weighted_median(ratios, weights);  // robust start: what changed holds under half the samples
  const Scale seed = median_scale(candidates, s.value, noise);
  std::vector<bool> in(candidates.size(), false);
  for (int round = 0; round < 20; round++) {
    bool changed = false;
    double share1 = 0, share2 = 0, x1 = 0, x2 = 0, drift1 = 0, drift2 = 0;
    size_t used = 0;
    for (size_t i = 0; i < candidates.size(); i++) {
      bool inlier = std::fabs(rescaled_test(*candidates[i], s, noise[i]).z) < 3;
      changed |= inlier != in[i];
      in[i] = inlier;
      if (!inlier) continue;
      share1 += candidates[i]->x1 / candidates[i]->n1;
      share2 += candidates[i]->x2 / candidates[i]->n2;
      x1 += candidates[i]->x1;
      x2 += candidates[i]->x2;
      drift1 += std::pow(noise[i] * candidates[i]->x1 / candidates[i]->n1, 2);
      drift2 += std::pow(noise[i] * candidates[i]->x2 / candidates[i]->n2, 2);
      used++;
    }
    if (used < min_rows) return seed;
    s.value = share2 / share1;
    // Sampling, plus each row's own run-to-run noise (independent rows: the sum's relative variance
    // is the sum of (run noise x share)^2 over the squared sum).
    s.var_log = (1 - std::min(share1, 1.0)) / x1 + (1 - std::min(share2, 1.0)) / x2 + drift1 / (share1 * share1) +
                drift2 / (share2 * share2);
    s.rows = used;
    if (!changed && round > 0) break;
  }
  return s;
}

namespace {

struct RunSide {
  double mean = 0, var = 0;  // of the runs' shares (var: k - 1 in the denominator; 0 for one run)
  double inv_n = 0;          // mean of 1 / n over the runs
  size_t k = 0;
};

RunSide run_side(const std::vector<RunCount>& runs, double factor) {
  RunSide s;
  std::vector<double> shares;
  for (const auto& r : runs)
    if (r.n > 0) {
      shares.push_back(factor * r.x / r.n);
      s.inv_n += 1 / r.n;
    }
  s.k = shares.size();
  if (!s.k) return s;
  s.inv_n /= static_cast<double>(s.k);
  for (double v : shares) s.mean += v / static_cast<double>(s.k);
  if (s.k > 1) {
    for (double v : shares) s.var += (v - s.mean) * (v - s.mean);
    s.var /= static_cast<double>(s.k - 1);
  }
  return s;
}

// Median of chi^2 with d degrees of freedom, over d (Wilson-Hilferty; 0.702 for d = 2, exact to 0.3%).
double chi2_median_ratio(double d) { return std::pow(1 - 2 / (9 * d), 3); }

}  // namespace

std::optional<double> relative_run_excess(const std::vector<RunCount>& runs) {
  RunSide s = run_side(runs, 1);
  if (s.k < 2 || s.mean < 0.01 || s.mean > 0.99) return std::nullopt;
  const double binomial = s.mean * (1 - s.mean) * s.inv_n;
  const double spread = std::min(s.mean, 1 - s.mean);
  return (s.var / chi2_median_ratio(static_cast<double>(s.k - 1)) - binomial) / (spread * spread);
}

void RunNoiseTrend::add(double spread, double excess) {
  if (spread > 0) points_.emplace_back(std::log(spread), excess);
}

namespace {
double noise_of(std::vector<double> excess) {
  auto m = median(std::move(excess));
  return m && *m > 0 ? std::sqrt(*m) : 0;
}
}  // namespace

double RunNoiseTrend::overall() const {
  std::vector<double> excess;
  for (const auto& [x, e] : points_) excess.push_back(e);
  return noise_of(std::move(excess));
}

double RunNoiseTrend::at(double spread) const {
  constexpr size_t kMinNeighbours = 9;
  const size_t k = std::max(kMinNeighbours, points_.size() / 4);
  if (spread <= 0 || points_.size() <= k) return overall();
  const double x = std::log(spread);
  std::vector<std::pair<double, double>> by_distance;  // (|log spread - x|, excess)
  for (const auto& [px, e] : points_) by_distance.emplace_back(std::fabs(px - x), e);
  std::nth_element(by_distance.begin(), by_distance.begin() + static_cast<std::ptrdiff_t>(k - 1),
                   by_distance.end());
  std::vector<double> excess;
  for (size_t i = 0; i < k; i++) excess.push_back(by_distance[i].second);
  return noise_of(std::move(excess));
}

ProportionTest run_means_test(const std::vector<RunCount>& base, const std::vector<RunCount>& head,
                              const Scale& s, double run_noise, double prior_df) {
  ProportionTest t;
  const double k = s.value;
  RunSide b = run_side(base, k), h = run_side(head, 1);
  if (!b.k || !h.k) return t;
  double x1 = 0, n1 = 0, x2 = 0, n2 = 0;
  for (const auto& r : base) x1 += r.x, n1 += r.n;
  for (const auto& r : head) x2 += r.x, n2 += r.n;
  // Shares pooled under H0 (head = scale x base), as in rescaled_test.
  const double pi = std::min((x1 + x2 / k) / (n1 + n2), 1.0), q = std::min(k * pi, 1.0);
  auto moderated = [&](const RunSide& side, double sampling, double share, double& df) {
    const double drift = run_noise * std::min(share, 1 - share);
    const double prior = sampling + drift * drift;
    const double own_df = static_cast<double>(side.k - 1);
    df = std::max(prior_df + own_df, 1.0);  // prior_df > 0 (a side of one run has only the prior)
    return (prior_df * prior + own_df * side.var) / df / static_cast<double>(side.k);
  };
  double df1 = 0, df2 = 0;
  const double v1 = moderated(b, k * k * pi * (1 - pi) * b.inv_n, q, df1);
  const double v2 = moderated(h, q * (1 - q) * h.inv_n, q, df2);
  const double var = v1 + v2 + q * q * s.var_log;
  if (var <= 0) return t;
  t.z = (h.mean - b.mean) / std::sqrt(var);
  // Welch-Satterthwaite (the scale's term, from many rows' counts, is taken as known).
  const double spread = v1 * v1 / df1 + v2 * v2 / df2;
  t.df = spread > 0 ? (v1 + v2) * (v1 + v2) / spread : 0;
  t.p = t.df > 0 ? student_t_two_sided_p(t.z, t.df) : normal_two_sided_p(t.z);
  return t;
}

}  // namespace loopperf::diff
