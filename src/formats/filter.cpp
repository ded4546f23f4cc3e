#include "loopperf/formats/filter.h"

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <tuple>

#include "loopperf/profile/labels.h"
#include "loopperf/profile/processes.h"
#include "loopperf/profile/thread_selector.h"

namespace loopperf::formats {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Every name of an enum from the shared vocabulary, first to last.
template <typename E, typename NameFn>
std::vector<std::string> names_up_to(E last, NameFn name) {
  std::vector<std::string> out;
  for (int i = 0; i <= static_cast<int>(last); i++) out.emplace_back(name(static_cast<E>(i)));
  return out;
}

Status check_vocabulary(const std::vector<std::string>& values, const char* what,
                        const std::vector<std::string>& known) {
  for (const auto& v : values)
    if (std::find(known.begin(), known.end(), v) == known.end())
      return make_error(ErrorCode::kUsage, std::string("unknown ") + what + " '" + v + "'",
                        "use one of: " + join(known));
  return {};
}

// "node (4242) [main-loop]" for each distinct thread, for the hint of a selector that matched nothing.
std::vector<std::string> describe_threads(const profile::Profile& p) {
  std::set<std::tuple<std::string, int64_t, std::string>> seen;
  for (const auto& s : p.samples)
    seen.emplace(std::string(s.str_label(profile::kRoleLabel)), s.num_label(profile::kTidLabel).value_or(0),
                 std::string(s.str_label(profile::kThreadLabel)));
  std::vector<std::string> out;
  for (const auto& [role, tid, name] : seen) {
    std::string d = name.empty() ? "tid " + std::to_string(tid) : name + " (" + std::to_string(tid) + ")";
    if (!role.empty()) d += " [" + role + "]";
    out.push_back(std::move(d));
  }
  if (out.size() > 12) {
    out.resize(12);
    out.emplace_back("...");
  }
  return out;
}

bool any_of_labels(const profile::SampleView& s, std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return true;
  auto v = s.str_label(key);
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Drops the tables' entries no kept sample reaches, renumbering ids (index + 1) densely.
profile::Profile compact(const profile::Profile& in, profile::SampleTable samples) {
  profile::Profile out;
  out.sample_types = in.sample_types;
  out.period_type = in.period_type;
  out.period = in.period;
  out.time_nanos = in.time_nanos;
  out.duration_nanos = in.duration_nanos;
  out.default_sample_type = in.default_sample_type;
  out.comments = in.comments;
  out.metadata = in.metadata;

  std::vector<uint64_t> loc_map(in.locations.size() + 1, 0), fn_map(in.functions.size() + 1, 0),
      map_map(in.mappings.size() + 1, 0);
  auto map_mapping = [&](uint64_t id) -> uint64_t {
    if (id == 0 || id > in.mappings.size()) return 0;
    if (!map_map[id]) {
      out.mappings.push_back(in.mappings[id - 1]);
      map_map[id] = out.mappings.size();
    }
    return map_map[id];
  };
  auto map_function = [&](uint64_t id) -> uint64_t {
    if (id == 0 || id > in.functions.size()) return 0;
    if (!fn_map[id]) {
      out.functions.push_back(in.functions[id - 1]);
      fn_map[id] = out.functions.size();
    }
    return fn_map[id];
  };
  auto map_location = [&](uint64_t id) -> uint64_t {
    if (id == 0 || id > in.locations.size()) return 0;
    if (!loc_map[id]) {
      profile::Location loc = in.locations[id - 1];
      loc.mapping_id = map_mapping(loc.mapping_id);
      for (auto& l : loc.lines) l.function_id = map_function(l.function_id);
      out.locations.push_back(std::move(loc));
      loc_map[id] = out.locations.size();
    }
    return loc_map[id];
  };
  for (size_t i = 0; i < samples.size(); i++)
    for (auto& id : samples.location_ids(i)) id = map_location(id);
  out.samples = std::move(samples);
  return out;
}

std::string describe(const FilterSpec& spec) {
  std::string d;
  auto add = [&](const char* key, const std::string& v) { d += (d.empty() ? "" : " ") + std::string(key) + "=" + v; };
  if (!spec.threads.empty()) add("thread", join(spec.threads, ","));
  if (!spec.phases.empty()) add("phase", join(spec.phases, ","));
  if (!spec.activities.empty()) add("activity", join(spec.activities, ","));
  if (!spec.focus.empty()) add("focus", spec.focus);
  if (spec.pid) add("pid", std::to_string(spec.pid));
  return d;
}

}  // namespace

bool thread_matches(const profile::SampleView& s, const std::string& sel) {
  return profile::thread_selector_matches(sel, {.tid = s.num_label(profile::kTidLabel),
                                                .name = s.str_label(profile::kThreadLabel),
                                                .role = s.str_label(profile::kRoleLabel)});
}

namespace {

// Which samples a spec keeps, made once its names are checked against the profile.
struct SampleFilter {
  const FilterSpec& spec;
  std::vector<char> loc_hit;  // by location id, for --focus; empty without it

  bool operator()(const profile::SampleView& s) const {
    if (!spec.threads.empty() &&
        std::none_of(spec.threads.begin(), spec.threads.end(), [&](const std::string& t) { return thread_matches(s, t); }))
      return false;
    if (!any_of_labels(s, profile::kPhaseLabel, spec.phases)) return false;
    if (!any_of_labels(s, profile::kActivityLabel, spec.activities)) return false;
    return loc_hit.empty() || std::any_of(s.location_ids.begin(), s.location_ids.end(), [&](uint64_t id) {
             return id < loc_hit.size() && loc_hit[id];
           });
  }
};

Result<SampleFilter> sample_filter(const profile::Profile& p, const FilterSpec& spec) {
  if (auto st = check_vocabulary(spec.phases, "phase", names_up_to(profile::Phase::kUnknown, profile::phase_name)); !st)
    return st.error();
  if (auto st = check_vocabulary(spec.activities, "activity",
                                 names_up_to(profile::Activity::kBlocked, profile::activity_name));
      !st)
    return st.error();

  for (const auto& sel : spec.threads) {
    bool any = std::any_of(p.samples.begin(), p.samples.end(),
                           [&](const profile::SampleView& s) { return thread_matches(s, sel); });
    if (!any) {
      auto have = describe_threads(p);
      return make_error(ErrorCode::kUsage, "no thread matches '" + sel + "'",
                        have.empty() ? std::string("this profile's samples carry no thread labels")
                                     : "use main, worker, pool, loop, a role, a name or a tid; this profile has: " + join(have));
    }
  }

  SampleFilter f{spec, {}};
  // The regex runs once per function, never per sample.
  if (!spec.focus.empty()) {
    std::regex re;
    try {
      re = std::regex(spec.focus, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return make_error(ErrorCode::kUsage, "invalid --focus regex '" + spec.focus + "': " + e.what(),
                        "use an ECMAScript regular expression, e.g. --focus 'authMiddleware|JSON\\.parse'");
    }
    std::vector<char> fn_hit(p.functions.size() + 1, 0);
    for (size_t i = 0; i < p.functions.size(); i++) fn_hit[i + 1] = std::regex_search(p.functions[i].name, re);
    f.loc_hit.assign(p.locations.size() + 1, 0);
    for (size_t i = 0; i < p.locations.size(); i++)
      for (const auto& l : p.locations[i].lines)
        if (l.function_id <= p.functions.size() && fn_hit[l.function_id]) f.loc_hit[i + 1] = 1;
  }
  return f;
}

}  // namespace

Result<profile::Profile> filter_profile(const profile::Profile& whole, const FilterSpec& spec) {
  std::optional<profile::Profile> one_process;
  if (spec.pid) {
    auto one = profile::process_profile(whole, spec.pid);
    if (!one) return one.error();
    one_process = std::move(*one);
  }
  const profile::Profile& p = one_process ? *one_process : whole;
  auto keep = sample_filter(p, spec);
  if (!keep) return keep.error();
  // Counted first, so that the copy is made at its size: grown by doubling, it would hold up to
  // twice as much, next to the whole profile (issue 22).
  size_t samples = 0, ids = 0;
  for (const auto& s : p.samples)
    if ((*keep)(s)) {
      samples++;
      ids += s.location_ids.size();
    }
  profile::SampleTable kept;
  kept.reserve(samples, ids);
  for (const auto& s : p.samples)
    if ((*keep)(s)) kept.add(s);
  profile::Profile out = compact(p, std::move(kept));
  if (!spec.empty()) out.set_meta("filter", describe(spec));
  return out;
}

Result<profile::Profile> filter_profile(profile::Profile&& whole, const FilterSpec& spec) {
  if (spec.pid) return filter_profile(static_cast<const profile::Profile&>(whole), spec);
  auto keep = sample_filter(whole, spec);
  if (!keep) return keep.error();
  whole.samples.keep_if(*keep);  // in place: the samples are not copied
  profile::SampleTable kept = std::move(whole.samples);
  profile::Profile out = compact(whole, std::move(kept));
  if (!spec.empty()) out.set_meta("filter", describe(spec));
  return out;
}

}  // namespace loopperf::formats
