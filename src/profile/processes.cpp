#include "loopperf/profile/processes.h"

#include <charconv>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "loopperf/profile/labels.h"

namespace loopperf::profile {

namespace {

constexpr std::string_view kProcessesKey = "processes";
constexpr std::string_view kProcessPrefix = "process.";
// A process's own time and duration (the profile's are the launched process's).
constexpr std::string_view kTimeKey = "time_nanos", kDurationKey = "duration_nanos";

std::string prefix_of(int64_t pid) { return std::string(kProcessPrefix) + std::to_string(pid) + "."; }

// The samples of process `pid` are those labelled with it; samples with no pid label are the
// launched process's (a profile written before the label existed).
int64_t pid_of(const SampleView& s, int64_t launched) { return s.num_label(kPidLabel).value_or(launched); }

}  // namespace

Result<Profile> merge_processes(std::vector<ProcessPart> parts) {
  if (parts.empty()) return Profile{};
  Profile out = std::move(parts[0].profile);
  const int64_t launched = parts[0].pid;
  std::string pids = std::to_string(launched);
  // Functions are shared between processes that run the same code (node's own, a shared script):
  // one entry per distinct function.
  std::map<std::tuple<std::string, std::string, std::string, int64_t>, uint64_t> function_ids;
  for (size_t i = 0; i < out.functions.size(); i++) {
    const Function& f = out.functions[i];
    function_ids.emplace(std::make_tuple(f.name, f.system_name, f.file, f.start_line), i + 1);
  }
  // A sample's labels with its process's pid, unless they have one (once per label set).
  std::map<std::pair<const void*, int64_t>, Labels> with_pid;
  auto labelled = [&with_pid](const Labels& labels, int64_t pid) -> Labels {
    if (labels.find(kPidLabel)) return labels;
    auto [it, added] = with_pid.try_emplace({&labels.list(), pid}, labels);
    if (added) it->second.push_back(Label{std::string(kPidLabel), "", pid, "", true});
    return it->second;
  };
  for (size_t i = 0; i < out.samples.size(); i++) out.samples.set_labels(i, labelled(out.samples[i].labels, launched));
  std::set<int64_t> seen{launched};
  for (size_t k = 1; k < parts.size(); k++) {
    Profile& p = parts[k].profile;
    const int64_t pid = parts[k].pid;
    if (p.sample_types != out.sample_types)
      return make_error(ErrorCode::kInternal, "process " + std::to_string(pid) + " was recorded with other sample types");
    // A pid seen before ran another program earlier (a wrapper that exec'd node): its samples join
    // that process, its metadata does not (the first part of a pid describes it).
    const bool first_of_pid = seen.insert(pid).second;
    if (first_of_pid) pids += "," + std::to_string(pid);
    const uint64_t mapping_base = out.mappings.size(), location_base = out.locations.size();
    for (auto& m : p.mappings) out.mappings.push_back(std::move(m));
    std::vector<uint64_t> function_map(p.functions.size() + 1, 0);
    for (size_t i = 0; i < p.functions.size(); i++) {
      Function& f = p.functions[i];
      auto key = std::make_tuple(f.name, f.system_name, f.file, f.start_line);
      auto [it, inserted] = function_ids.emplace(std::move(key), out.functions.size() + 1);
      if (inserted) out.functions.push_back(std::move(f));
      function_map[i + 1] = it->second;
    }
    for (auto& loc : p.locations) {
      if (loc.mapping_id) loc.mapping_id += mapping_base;
      for (auto& line : loc.lines)
        if (line.function_id < function_map.size()) line.function_id = function_map[line.function_id];
      out.locations.push_back(std::move(loc));
    }
    std::vector<uint32_t> ids;
    for (const auto& s : p.samples) {
      ids.assign(s.location_ids.begin(), s.location_ids.end());
      for (auto& id : ids) id += location_base;
      out.samples.add(ids, s.values, labelled(s.labels, pid));
    }
    const std::string prefix = prefix_of(pid);
    if (first_of_pid) {
      for (auto& [key, value] : p.metadata) out.metadata.emplace_back(prefix + key, std::move(value));
      // Its own window: pprof has one time and duration per profile.
      out.metadata.emplace_back(prefix + std::string(kTimeKey), std::to_string(p.time_nanos));
      out.metadata.emplace_back(prefix + std::string(kDurationKey), std::to_string(p.duration_nanos));
    }
    if (p.time_nanos && (!out.time_nanos || p.time_nanos < out.time_nanos)) out.time_nanos = p.time_nanos;
  }
  if (seen.size() > 1) out.set_meta(std::string(kProcessesKey), pids);
  return out;
}

std::vector<int64_t> process_ids(const Profile& p) {
  std::vector<int64_t> ids;
  const std::string_view list = p.meta(kProcessesKey);
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(list.data() + pos, list.data() + end, v);
    if (ec == std::errc() && ptr == list.data() + end && v > 0) ids.push_back(v);
    pos = end + 1;
  }
  return ids;
}

Result<Profile> process_profile(const Profile& p, int64_t pid) {
  const std::vector<int64_t> ids = process_ids(p);
  if (ids.empty()) {
    // One process: its pid is the recording's.
    const std::string_view own = p.meta("target.pid");
    if (own.empty() || own == std::to_string(pid)) return p;
  }
  bool known = false;
  for (int64_t id : ids) known = known || id == pid;
  if (!known) {
    std::string list;
    for (int64_t id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
    if (list.empty()) list = std::string(p.meta("target.pid"));
    return make_error(ErrorCode::kUsage, "the profile holds no process " + std::to_string(pid),
                      "give one of its pids: " + (list.empty() ? std::string("(none recorded)") : list));
  }
  const int64_t launched = ids.front();
  Profile out;
  out.sample_types = p.sample_types;
  out.period_type = p.period_type;
  out.period = p.period;
  out.time_nanos = p.time_nanos;
  out.duration_nanos = p.duration_nanos;
  out.default_sample_type = p.default_sample_type;
  out.mappings = p.mappings;
  out.locations = p.locations;
  out.functions = p.functions;
  out.comments = p.comments;
  for (const auto& s : p.samples)
    if (pid_of(s, launched) == pid) out.samples.add(s);
  const std::string prefix = prefix_of(pid);
  for (const auto& [key, value] : p.metadata) {
    const bool other = key.rfind(kProcessPrefix, 0) == 0;
    if (pid == launched) {
      if (!other && key != kProcessesKey) out.metadata.emplace_back(key, value);
    } else if (key.rfind(prefix, 0) == 0) {
      const std::string own = key.substr(prefix.size());
      int64_t v = 0;
      const bool is_num = std::from_chars(value.data(), value.data() + value.size(), v).ec == std::errc();
      if (own == kTimeKey && is_num)
        out.time_nanos = v;
      else if (own == kDurationKey && is_num)
        out.duration_nanos = v;
      else
        out.metadata.emplace_back(own, value);
    }
  }
  return out;
}

}  // namespace loopperf::profile
