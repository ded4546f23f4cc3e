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
// With runs measured, each function's run noise is `trend`'s at its share, else `run_noise`.
void estimate_scale(Population& pop, const FunctionCounts& base, const FunctionCounts& head, double run_noise,
                    const RunNoiseTrend* trend) {
  std::vector<ShareCounts> rows;
  size_t keys = std::min(base.self.size(), head.self.size());
  for (size_t k = 0; k < keys; k++) rows.push_back({base.self[k], base.n, head.self[k], head.n});
  Scale s = diff::estimate_scale(rows, kMinScaleCount, kMinScaleRows, run_noise, trend);
  pop.scale = s.value;
  pop.scale_se = std::sqrt(s.var_log);
  pop.scale_rows = s.rows;
  pop.scale_median = s.median;
}

Row make_row(Family f, std::string population, std::string name, std::vector<RunCount> base_runs,
             std::vector<RunCount> head_runs) {
  Row r;
  r.family = f;
  r.population = std::move(population);
  r.name = std::move(name);
  for (const auto& c : base_runs) r.base_count += c.x, r.base_total += c.n;
  for (const auto& c : head_runs) r.head_count += c.x, r.head_total += c.n;
  r.base_runs = std::move(base_runs);
  r.head_runs = std::move(head_runs);
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

void add_counts(FunctionCounts& into, const FunctionCounts& from, size_t keys) {
  into.grow(keys);
  into.n += from.n;
  for (size_t k = 0; k < from.self.size(); k++) into.self[k] += from.self[k];
  for (size_t k = 0; k < from.total.size(); k++) into.total[k] += from.total[k];
}

// One side of the diff: its recordings' counts, each run's and their sums.
struct SideCounts {
  std::vector<const profile::Profile*> profiles;
  std::vector<ProfileCounts> runs;
  ProfileCounts sum;
  std::vector<std::map<std::string, RoleShares>> loops;

  // After every profile of both sides is counted (keys seen only in the other side, or another run).
  void finish(size_t keys) {
    for (auto& r : runs) {
      r.all.grow(keys);
      for (auto& [role, c] : r.by_role) c.grow(keys);
      add_counts(sum.all, r.all, keys);
      for (const auto& [role, c] : r.by_role) add_counts(sum.by_role[role], c, keys);
    }
    sum.all.grow(keys);
  }
  std::vector<RunCount> self(uint32_t k) const {
    std::vector<RunCount> out;
    for (const auto& r : runs) out.push_back({r.all.self[k], r.all.n});
    return out;
  }
  std::vector<RunCount> total(uint32_t k) const {
    std::vector<RunCount> out;
    for (const auto& r : runs) out.push_back({r.all.total[k], r.all.n});
    return out;
  }
  double role_samples(const std::string& role) const {
    double n = 0;
    for (const auto& l : loops)
      if (auto it = l.find(role); it != l.end()) n += it->second.samples;
    return n;
  }
};

void add_function_rows(DiffResult& d, Populations& pops, const KeyTable& keys, const SideCounts& bc,
                       const SideCounts& hc) {
  Population& all = pops.get(kAllThreads);
  all.base_samples = bc.sum.all.n;
  all.head_samples = hc.sum.all.n;
  for (uint32_t k = 0; k < keys.size(); k++) {
    if (bc.sum.all.total[k] == 0 && hc.sum.all.total[k] == 0) continue;  // only in left-out interrupt frames
    d.rows.push_back(make_row(Family::kSelf, kAllThreads, keys.name(k), bc.self(k), hc.self(k)));
    d.rows.push_back(make_row(Family::kTotal, kAllThreads, keys.name(k), bc.total(k), hc.total(k)));
  }
}

// Phases and activities of each loop role present on both sides; a role on one side only is skipped.
void add_loop_thread_rows(DiffResult& d, Populations& pops, const SideCounts& bc, const SideCounts& hc) {
  bool any_base = false, any_head = false;
  for (const auto& l : bc.loops) any_base |= !l.empty();
  for (const auto& l : hc.loops) any_head |= !l.empty();
  if (!any_base && !any_head)
    d.skipped.push_back(
        {"phases and activities", "neither profile has event-loop threads (not node, or not labelled)"});
  for (const std::string& role : {std::string(profile::kMainLoopRole), std::string(profile::kWorkerLoopRole)}) {
    bool in_base = bc.role_samples(role) > 0, in_head = hc.role_samples(role) > 0;
    if (!in_base && !in_head) continue;
    if (!in_base || !in_head) {
      d.skipped.push_back({role + " phases and activities",
                           std::string("only in the ") + (in_base ? "base" : "head") + " profile"});
      continue;
    }
    Population& pop = pops.get(role);
    pop.base_samples = bc.role_samples(role);
    pop.head_samples = hc.role_samples(role);
    // Every name either side's runs have, then each run's count of it (0 where it has none).
    auto add = [&](Family f, std::map<std::string, double> RoleShares::*member) {
      std::map<std::string, bool> names;
      for (const SideCounts* side : {&bc, &hc})
        for (const auto& l : side->loops)
          if (auto it = l.find(role); it != l.end())
            for (const auto& [name, n] : it->second.*member) names[name] = true;
      auto runs = [&](const SideCounts& side, const std::string& name) {
        std::vector<RunCount> out;
        for (const auto& l : side.loops) {
          RunCount c;
          if (auto it = l.find(role); it != l.end()) {
            c.n = it->second.samples;
            auto n = (it->second.*member).find(name);
            if (n != (it->second.*member).end()) c.x = n->second;
          }
          out.push_back(c);
        }
        return out;
      };
      for (const auto& [name, unused] : names) {
        Row r = make_row(f, role, name, runs(bc, name), runs(hc, name));
        r.higher_is_worse = !(f == Family::kActivity && name == "idle-wait");
        d.rows.push_back(std::move(r));
      }
    };
    add(Family::kPhase, &RoleShares::phases);
    add(Family::kActivity, &RoleShares::activities);
  }
}

void add_loop_metric_rows(DiffResult& d, const SideCounts& bc, const SideCounts& hc) {
  for (const LoopMetric& m : loop_metrics()) {
    // A metric is compared when every recording has it: a sum over some runs would be another measure.
    auto observe = [&](const SideCounts& side, std::vector<RunCount>& runs) {
      for (const profile::Profile* p : side.profiles) {
        auto o = m.observe(*p);
        if (!o) return false;
        runs.push_back({o->count, o->trials});
      }
      return true;
    };
    std::vector<RunCount> b, h;
    bool ob = observe(bc, b), oh = observe(hc, h);
    std::string why;
    if (!ob || !oh) {
      auto where = [&](const SideCounts& side, const char* name) {
        return std::string(side.profiles.size() > 1 ? "not in every " : "not in the ") + name +
               (side.profiles.size() > 1 ? " recording" : " profile");
      };
      why = (!ob && !oh ? std::string("not in either profile") : !ob ? where(bc, "base") : where(hc, "head")) +
            " (needs " + std::string(m.needs) + ")";
    } else if (m.incomparable) {
      for (const profile::Profile* pb : bc.profiles)
        for (const profile::Profile* ph : hc.profiles)
          if (why.empty()) why = m.incomparable(*pb, *ph);
    }
    if (!why.empty()) {
      d.skipped.push_back({"loop " + std::string(m.name), why});
      continue;
    }
    Row r = make_row(Family::kLoop, "loop", std::string(m.name), std::move(b), std::move(h));
    r.higher_is_worse = m.higher_is_worse;
    d.rows.push_back(std::move(r));
  }
}

// The mean of a side's run shares (runs without samples left out).
double mean_run_share(const std::vector<RunCount>& runs) {
  double sum = 0;
  size_t k = 0;
  for (const auto& c : runs)
    if (c.n > 0) sum += c.x / c.n, k++;
  return k ? sum / static_cast<double>(k) : 0.0;
}

// The run noise that several recordings per side show (diff.h RunNoise): one point per row and side
// whose runs measure it (self, phase, activity and loop rows; not total, whose callers repeat their
// callees' variation). A family that divides its population (self, phase, activity: each sample has
// one value) with only two rows measured on a side holds two complements, one variation seen twice
// (main-loop activity js 92% and native 8%): one point, the smaller row's.
RunNoise measure_run_noise(const std::vector<Row>& rows) {
  struct Point {
    double spread, excess;
  };
  std::map<std::tuple<Family, std::string, bool>, std::vector<Point>> divides;  // (family, population, head)
  RunNoise noise;
  auto add = [&](Family f, const Point& p) {
    (f == Family::kSelf ? noise.functions : noise.aggregates).add(p.spread, p.excess);
    noise.all.add(p.spread, p.excess);
  };
  for (const Row& r : rows) {
    if (r.family == Family::kTotal) continue;
    for (bool head : {false, true}) {
      const auto& runs = head ? r.head_runs : r.base_runs;
      auto e = relative_run_excess(runs);
      if (!e) continue;
      const double m = mean_run_share(runs);
      const Point p{std::min(m, 1 - m), *e};
      if (r.family == Family::kLoop)
        add(r.family, p);
      else
        divides[{r.family, r.population, head}].push_back(p);
    }
  }
  for (const auto& [group, points] : divides) {
    const Family f = std::get<0>(group);
    if (points.size() == 2) {
      add(f, points[0].spread <= points[1].spread ? points[0] : points[1]);
      continue;
    }
    for (const Point& p : points) add(f, p);
  }
  return noise;
}

void judge(DiffResult& d, const DiffOptions& opt) {
  std::vector<Row>& rows = d.rows;
  auto scale_of = [&](const std::string& name) {
    for (const auto& p : d.populations)
      if (p.name == name) return Scale{p.scale, p.scale_se * p.scale_se, p.scale_rows, p.scale_median};
    return Scale{};
  };
  const double t = opt.threshold;
  std::vector<double> pvalues, rescaled_pvalues;
  std::vector<size_t> tested;
  for (size_t i = 0; i < rows.size(); i++) {
    Row& r = rows[i];
    if (d.runs_measured) {
      r.base_share = mean_run_share(r.base_runs);
      r.head_share = mean_run_share(r.head_runs);
    } else {
      r.base_share = r.base_total > 0 ? r.base_count / r.base_total : 0;
      r.head_share = r.head_total > 0 ? r.head_count / r.head_total : 0;
    }
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
    ProportionTest pt, rt;
    r.run_noise = d.runs_measured ? d.noise.of(r.family, std::min(pooled, 1 - pooled)) : d.run_noise;
    if (d.runs_measured) {
      pt = run_means_test(r.base_runs, r.head_runs, Scale{}, r.run_noise, opt.prior_runs);
      rt = run_means_test(r.base_runs, r.head_runs, scale, r.run_noise, opt.prior_runs);
    } else {
      pt = two_proportion_test(r.base_count, n1, r.head_count, n2, d.run_noise);
      rt = rescaled_test({r.base_count, n1, r.head_count, n2}, scale, d.run_noise);
    }
    r.tested = true;
    r.z = pt.z;
    r.p = pt.p;
    r.df = pt.df;
    r.rescaled_z = rt.z;
    pvalues.push_back(pt.p);
    rescaled_pvalues.push_back(rt.p);
    tested.push_back(i);
  }
  d.tests = tested.size();
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

const RunNoiseTrend& RunNoise::for_functions() const { return functions.points() ? functions : all; }

double RunNoise::of(Family f, double spread) const {
  if (f == Family::kSelf || f == Family::kTotal) return for_functions().at(spread);
  return (aggregates.points() ? aggregates : all).at(spread);
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

Result<DiffResult> diff_runs(const std::vector<const profile::Profile*>& base_runs,
                             const std::vector<const profile::Profile*>& head_runs, const DiffOptions& opt) {
  if (base_runs.empty() || head_runs.empty())
    return make_error(ErrorCode::kInput, std::string("the ") + (base_runs.empty() ? "base" : "head") +
                                             " side has no recordings",
                      "give a pprof file, or a directory holding one or more");
  auto sorted_types = [](const profile::Profile& p) {
    auto t = p.sample_types;
    std::sort(t.begin(), t.end(),
              [](const auto& a, const auto& b) { return a.type + '/' + a.unit < b.type + '/' + b.unit; });
    return t;
  };
  const profile::Profile& base = *base_runs.front();
  for (const auto* side : {&base_runs, &head_runs})
    for (const profile::Profile* p : *side)
      if (sorted_types(base) != sorted_types(*p))
        return make_error(
            ErrorCode::kInput,
            "the profiles measure different things: base has sample types " + type_list(base) + ", " +
                (side == &base_runs ? "another base recording" : "head") + " has " + type_list(*p),
            "diff recordings of the same kind, e.g. all from `loopperf record` in the same mode");
  auto bi = count_index(base);
  if (!bi)
    return make_error(
        ErrorCode::kInput, "the profiles have no sample counts (sample types: " + type_list(base) + ")",
        "the significance test needs a count sample type such as samples/count, as CPU profiles "
        "from loopperf record or Go have");
  const std::string base_mode = profile::read_recording_info(base).mode;
  for (const auto* side : {&base_runs, &head_runs})
    for (const profile::Profile* p : *side) {
      const std::string mode = profile::read_recording_info(*p).mode;
      if (!base_mode.empty() && !mode.empty() && base_mode != mode)
        return make_error(ErrorCode::kInput,
                          "base was recorded in " + base_mode + " mode, " +
                              (side == &base_runs ? "another base recording" : "head") + " in " + mode + " mode",
                          "record both the same way: their shares are of different things");
    }

  DiffResult d;
  d.options = opt;
  d.count_type = base.sample_types[*bi].type;
  KeyTable keys;
  SideCounts bc, hc;
  for (auto [side, counts, profiles, name] :
       {std::tuple{&d.base, &bc, &base_runs, "base"}, std::tuple{&d.head, &hc, &head_runs, "head"}}) {
    counts->profiles = *profiles;
    for (const profile::Profile* p : *profiles) {
      counts->runs.push_back(detail::count_functions(*p, *count_index(*p), keys));
      if (counts->runs.back().all.n <= 0)
        return make_error(ErrorCode::kInput,
                          std::string("the ") + name +
                              (profiles->size() > 1 ? " side has a recording with no samples"
                                                    : " profile has no samples"),
                          "record for longer, or check that the benchmark ran (loopperf report FILE)");
      auto loops = loop_shares(*p);
      if (!loops) return loops.error();
      counts->loops.push_back(std::move(*loops));
      side->duration_nanos += p->duration_nanos;
    }
    side->runs = profiles->size();
    side->cmdline = profile::read_recording_info(*profiles->front()).cmdline;
  }
  bc.finish(keys.size());
  hc.finish(keys.size());
  d.base.samples = bc.sum.all.n;
  d.head.samples = hc.sum.all.n;

  // Rows first: their per-run counts measure the run noise, which the scales and the tests use.
  d.runs_measured = base_runs.size() > 1 || head_runs.size() > 1;
  Populations pops;
  add_function_rows(d, pops, keys, bc, hc);
  add_loop_thread_rows(d, pops, bc, hc);
  add_loop_metric_rows(d, bc, hc);
  if (d.runs_measured) d.noise = measure_run_noise(d.rows);
  d.run_noise = d.runs_measured ? d.noise.all.overall() : opt.run_noise;
  for (Population& pop : pops.list) {
    // The scale of a loop role comes from the functions its own samples ran.
    const FunctionCounts none;
    auto counts = [&](const ProfileCounts& c) -> const FunctionCounts& {
      if (pop.name == kAllThreads) return c.all;
      auto it = c.by_role.find(pop.name);
      return it == c.by_role.end() ? none : it->second;
    };
    estimate_scale(pop, counts(bc.sum), counts(hc.sum), d.run_noise, d.runs_measured ? &d.noise.for_functions() : nullptr);
  }
  d.populations = pops.list;
  judge(d, opt);
  std::stable_sort(d.rows.begin(), d.rows.end(), [](const Row& a, const Row& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (std::fabs(a.change) != std::fabs(b.change)) return std::fabs(a.change) > std::fabs(b.change);
    return a.name < b.name;
  });
  return d;
}

Result<DiffResult> diff_profiles(const profile::Profile& base, const profile::Profile& head,
                                 const DiffOptions& opt) {
  return diff_runs({&base}, {&head}, opt);
}

}  // namespace loopperf::diff
