// Rows of a diff: function self/total shares of all samples, phase and activity shares of each
// loop-thread role, loop metrics; each tested, corrected and judged (docs/diff.md).
#include "loopperf/profile/recording_info.h"
#include "loopperf/diff/diff.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>

#include "functions.h"
#include "loopperf/diff/loop_metrics.h"
#include "loopperf/diff/stats.h"
#include "loopperf/profile/labels.h"
#include "loopperf/profile/labels.h"
#include "loopperf/report/report.h"

namespace loopperf::diff {

namespace {

using detail::FunctionCounts;
using detail::KeyTable;
using detail::ProfileCounts;

// Below this expected count (pooled share x the smaller n) the normal approximation of the
// binomial is poor; such rows are not tested (a rule on counts alone, see docs/diff.md).
constexpr double kMinExpected = 5;
// Functions that enter the scale: present with this many samples in both profiles, and at least
// kMinScaleRows of them agreeing (fewer make a scale that one function can move).
constexpr double kMinScaleCount = 10;
constexpr size_t kMinScaleRows = 3;
constexpr const char* kAllThreads = "all threads";

std::string type_list(const profile::Profile& p) {
  std::string out;
  for (const auto& t : p.sample_types) out += (out.empty() ? "" : ", ") + t.type + "/" + t.unit;
  return out.empty() ? "none" : out;
}

// The sample type that counts samples: "samples", else the first with unit "count" (pprof's rule).
std::optional<size_t> count_index(const profile::Profile& p) {
  if (auto i = p.value_index("samples")) return i;
  for (size_t i = 0; i < p.sample_types.size(); i++)
    if (p.sample_types[i].unit == "count") return i;
  return std::nullopt;
}

// Scale of a population, from the function self rows of its samples.
void estimate_scale(Population& pop, const FunctionCounts& base, const FunctionCounts& head, double run_noise) {
  std::vector<ShareCounts> rows;
  size_t keys = std::min(base.self.size(), head.self.size());
  for (size_t k = 0; k < keys; k++) rows.push_back({base.self[k], base.n, head.self[k], head.n});
  Scale s = diff::estimate_scale(rows, kMinScaleCount, kMinScaleRows, run_noise);
  pop.scale = s.value;
  pop.scale_se = std::sqrt(s.var_log);
  pop.scale_rows = s.rows;
  pop.scale_median = s.median;
}

Row make_row(Family f, std::string population, std::string name, double x1, double n1, double x2, double n2) {
  Row r;
  r.family = f;
  r.population = std::move(population);
  r.name = std::move(name);
  r.base_count = x1;
  r.base_total = n1;
  r.head_count = x2;
  r.head_total = n2;
  return r;
}

struct Populations {
  std::vector<Population> list;
  Population& get(const std::string& name) {
    for (auto& p : list)
      if (p.name == name) return p;
    return list.emplace_back(Population{name});
  }
};

// Phase and activity counts per loop role, from report's per-thread summaries.
struct RoleShares {
  double samples = 0;
  std::map<std::string, double> phases, activities;
};

Result<std::map<std::string, RoleShares>> loop_shares(const profile::Profile& p) {
  auto r = report::build_report(p, {});
  if (!r) return r.error();
  std::map<std::string, RoleShares> out;
  for (const auto& t : r->threads) {
    if (!profile::is_loop_role(t.role)) continue;
    RoleShares& rs = out[std::string(profile::role_name(t.role))];
    rs.samples += static_cast<double>(t.samples);
    for (const auto& s : t.phases) rs.phases[s.name] += static_cast<double>(s.samples);
    for (const auto& s : t.activities) rs.activities[s.name] += static_cast<double>(s.samples);
  }
  return out;
}

void add_function_rows(DiffResult& d, Populations& pops, const KeyTable& keys, ProfileCounts& bc,
                       ProfileCounts& hc, double run_noise) {
  bc.all.grow(keys.size());  // keys seen only in head
  hc.all.grow(keys.size());
  Population& all = pops.get(kAllThreads);
  all.base_samples = bc.all.n;
  all.head_samples = hc.all.n;
  estimate_scale(all, bc.all, hc.all, run_noise);
  for (uint32_t k = 0; k < keys.size(); k++) {
    if (bc.all.total[k] == 0 && hc.all.total[k] == 0) continue;  // only in left-out interrupt frames
    d.rows.push_back(make_row(Family::kSelf, kAllThreads, keys.name(k), bc.all.self[k], bc.all.n,
                              hc.all.self[k], hc.all.n));
    d.rows.push_back(make_row(Family::kTotal, kAllThreads, keys.name(k), bc.all.total[k], bc.all.n,
                              hc.all.total[k], hc.all.n));
  }
}

// Phases and activities of each loop role present on both sides; a role on one side only is skipped.
Status add_loop_thread_rows(DiffResult& d, Populations& pops, const profile::Profile& base,
                            const profile::Profile& head, ProfileCounts& bc, ProfileCounts& hc,
                            double run_noise) {
  auto bl = loop_shares(base);
  if (!bl) return bl.error();
  auto hl = loop_shares(head);
  if (!hl) return hl.error();
  if (bl->empty() && hl->empty())
    d.skipped.push_back(
        {"phases and activities", "neither profile has event-loop threads (not node, or not labelled)"});
  for (const std::string& role : {std::string(profile::kMainLoopRole), std::string(profile::kWorkerLoopRole)}) {
    bool in_base = bl->count(role) && bl->at(role).samples > 0,
         in_head = hl->count(role) && hl->at(role).samples > 0;
    if (!in_base && !in_head) continue;
    if (!in_base || !in_head) {
      d.skipped.push_back({role + " phases and activities",
                           std::string("only in the ") + (in_base ? "base" : "head") + " profile"});
      continue;
    }
    const RoleShares &b = bl->at(role), &h = hl->at(role);
    Population& pop = pops.get(role);
    pop.base_samples = b.samples;
    pop.head_samples = h.samples;
    // The scale of a role comes from the functions its own samples ran.
    FunctionCounts none;
    auto role_counts = [&](ProfileCounts& c) -> FunctionCounts& {
      return c.by_role.count(role) ? c.by_role[role] : none;
    };
    estimate_scale(pop, role_counts(bc), role_counts(hc), run_noise);
    auto add = [&](Family f, const std::map<std::string, double>& bm,
                   const std::map<std::string, double>& hm) {
      std::map<std::string, std::pair<double, double>> merged;
      for (const auto& [name, n] : bm) merged[name].first = n;
      for (const auto& [name, n] : hm) merged[name].second = n;
      for (const auto& [name, c] : merged) {
        Row r = make_row(f, role, name, c.first, b.samples, c.second, h.samples);
        r.higher_is_worse = !(f == Family::kActivity && name == "idle-wait");
        d.rows.push_back(std::move(r));
      }
    };
    add(Family::kPhase, b.phases, h.phases);
    add(Family::kActivity, b.activities, h.activities);
  }
  return {};
}

void add_loop_metric_rows(DiffResult& d, const profile::Profile& base, const profile::Profile& head) {
  for (const LoopMetric& m : loop_metrics()) {
    auto ob = m.observe(base), oh = m.observe(head);
    std::string why;
    if (!ob || !oh)
      why = std::string(!ob && !oh ? "not in either profile"
                        : !ob      ? "not in the base profile"
                                   : "not in the head profile") +
            " (needs " + std::string(m.needs) + ")";
    else if (m.incomparable)
      why = m.incomparable(base, head);
    if (!why.empty()) {
      d.skipped.push_back({"loop " + std::string(m.name), why});
      continue;
    }
    Row r =
        make_row(Family::kLoop, "loop", std::string(m.name), ob->count, ob->trials, oh->count, oh->trials);
    r.higher_is_worse = m.higher_is_worse;
    d.rows.push_back(std::move(r));
  }
}

void judge(std::vector<Row>& rows, const std::vector<Population>& pops, const DiffOptions& opt,
           size_t& tests) {
  auto scale_of = [&](const std::string& name) {
    for (const auto& p : pops)
      if (p.name == name) return Scale{p.scale, p.scale_se * p.scale_se, p.scale_rows, p.scale_median};
    return Scale{};
  };
  const double t = opt.threshold;
  std::vector<double> pvalues, rescaled_pvalues;
  std::vector<size_t> tested;
  for (size_t i = 0; i < rows.size(); i++) {
    Row& r = rows[i];
    r.base_share = r.base_total > 0 ? r.base_count / r.base_total : 0;
    r.head_share = r.head_total > 0 ? r.head_count / r.head_total : 0;
    r.change = r.head_share - r.base_share;
    const Scale scale = scale_of(r.population);
    r.rescaled_change = r.head_share - scale.value * r.base_share;
    double n1 = r.base_total, n2 = r.head_total;
    double pooled = (r.base_count + r.head_count) / (n1 + n2);
    // A row can reach |change| >= t only if its pooled share is >= t * min(n) / (n1 + n2); testing
    // only those is a filter on x1 + x2 alone, which leaves the test's null distribution intact.
    if (pooled < t * std::min(n1, n2) / (n1 + n2)) {
      r.verdict = Verdict::kBelowThreshold;
      continue;
    }
    if (std::min(n1, n2) * std::min(pooled, 1 - pooled) < kMinExpected) {
      r.verdict = Verdict::kFewSamples;
      continue;
    }
    ProportionTest pt = two_proportion_test(r.base_count, n1, r.head_count, n2, opt.run_noise);
    r.tested = true;
    r.z = pt.z;
    r.p = pt.p;
    ProportionTest rt = rescaled_test({r.base_count, n1, r.head_count, n2}, scale, opt.run_noise);
    r.rescaled_z = rt.z;
    pvalues.push_back(pt.p);
    rescaled_pvalues.push_back(rt.p);
    tested.push_back(i);
  }
  tests = tested.size();
  std::vector<double> adjusted = holm_adjust(pvalues), rescaled_adjusted = holm_adjust(rescaled_pvalues);
  const double alpha = 1 - opt.confidence;
  constexpr double kEps = 1e-12;  // "2.0 pp" typed as threshold must pass a 2.0 pp change
  for (size_t j = 0; j < tested.size(); j++) {
    Row& r = rows[tested[j]];
    r.p_adjusted = adjusted[j];
    r.rescaled_p_adjusted = rescaled_adjusted[j];
    if (r.p_adjusted >= alpha) {
      r.verdict = Verdict::kNotSignificant;
    } else if (std::fabs(r.change) < t - kEps) {
      r.verdict = Verdict::kBelowThreshold;
    } else if (r.rescaled_p_adjusted >= alpha || std::fabs(r.rescaled_change) < t - kEps ||
               (r.rescaled_change > 0) != (r.change > 0)) {
      // The share moved, but by no more than the rest of the profile explains: another function
      // got cheaper or dearer. Both tests must hold (an intersection-union rule, so the family-wise
      // error rate is still the raw test's).
      r.verdict = Verdict::kRelative;
    } else {
      r.verdict = (r.change > 0) == r.higher_is_worse ? Verdict::kRegression : Verdict::kImprovement;
    }
  }
}

int rank(const Row& r) {
  switch (r.verdict) {
    case Verdict::kRegression:
      return 0;
    case Verdict::kImprovement:
      return 1;
    case Verdict::kRelative:
      return 2;
    default:
      return r.tested ? 3 : 4;
  }
}

}  // namespace

std::string_view family_name(Family f) {
  switch (f) {
    case Family::kSelf:
      return "self";
    case Family::kTotal:
      return "total";
    case Family::kPhase:
      return "phase";
    case Family::kActivity:
      return "activity";
    case Family::kLoop:
      return "loop";
  }
  return "?";
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kRegression:
      return "regression";
    case Verdict::kImprovement:
      return "improvement";
    case Verdict::kRelative:
      return "relative";
    case Verdict::kNotSignificant:
      return "not-significant";
    case Verdict::kBelowThreshold:
      return "below-threshold";
    case Verdict::kFewSamples:
      return "few-samples";
  }
  return "?";
}

size_t DiffResult::count(Verdict v) const {
  return static_cast<size_t>(
      std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return r.verdict == v; }));
}

Result<double> parse_percent(std::string_view text, std::string_view option, std::string_view example,
                             bool allow_zero) {
  std::string s(text);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  if (!s.empty() && s.back() == '%') s.pop_back();
  char* end = nullptr;
  double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !((allow_zero ? v >= 0 : v > 0) && v < 100))
    return make_error(
        ErrorCode::kUsage, std::string(option) + ": '" + std::string(text) + "' is not a percentage",
        std::string("give a number ") + (allow_zero ? "from 0 to" : "between 0 and") + " 100, e.g. " +
            std::string(option) + " " + std::string(example));
  return v / 100;
}

Result<DiffResult> diff_profiles(const profile::Profile& base, const profile::Profile& head,
                                 const DiffOptions& opt) {
  auto sorted_types = [](const profile::Profile& p) {
    auto t = p.sample_types;
    std::sort(t.begin(), t.end(),
              [](const auto& a, const auto& b) { return a.type + '/' + a.unit < b.type + '/' + b.unit; });
    return t;
  };
  if (sorted_types(base) != sorted_types(head))
    return make_error(
        ErrorCode::kInput,
        "the profiles measure different things: base has sample types " + type_list(base) + ", head has " +
            type_list(head),
        "diff two recordings of the same kind, e.g. both from `loopperf record` in the same mode");
  auto bi = count_index(base), hi = count_index(head);
  if (!bi || !hi)
    return make_error(
        ErrorCode::kInput, "the profiles have no sample counts (sample types: " + type_list(base) + ")",
        "the significance test needs a count sample type such as samples/count, as CPU profiles "
        "from loopperf record or Go have");
  const std::string base_mode = profile::read_recording_info(base).mode, head_mode = profile::read_recording_info(head).mode;
  if (!base_mode.empty() && !head_mode.empty() && base_mode != head_mode)
    return make_error(ErrorCode::kInput,
                      "base was recorded in " + base_mode + " mode, head in " + head_mode + " mode",
                      "record both the same way: their shares are of different things");

  DiffResult d;
  d.options = opt;
  d.count_type = base.sample_types[*bi].type;
  KeyTable keys;
  ProfileCounts bc = detail::count_functions(base, *bi, keys);
  ProfileCounts hc = detail::count_functions(head, *hi, keys);
  for (auto [side, counts, p, name] :
       {std::tuple{&d.base, &bc, &base, "base"}, std::tuple{&d.head, &hc, &head, "head"}}) {
    if (counts->all.n <= 0)
      return make_error(ErrorCode::kInput, std::string("the ") + name + " profile has no samples",
                        "record for longer, or check that the benchmark ran (loopperf report FILE)");
    side->samples = counts->all.n;
    side->cmdline = profile::read_recording_info(*p).cmdline;
    side->duration_nanos = p->duration_nanos;
  }

  Populations pops;
  add_function_rows(d, pops, keys, bc, hc, opt.run_noise);
  if (auto st = add_loop_thread_rows(d, pops, base, head, bc, hc, opt.run_noise); !st) return st.error();
  add_loop_metric_rows(d, base, head);
  d.populations = pops.list;
  judge(d.rows, d.populations, opt, d.tests);
  std::stable_sort(d.rows.begin(), d.rows.end(), [](const Row& a, const Row& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (std::fabs(a.change) != std::fabs(b.change)) return std::fabs(a.change) > std::fabs(b.change);
    return a.name < b.name;
  });
  return d;
}

}  // namespace loopperf::diff
