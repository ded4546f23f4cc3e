#include "loopperf/formats/cpuprofile.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "loopperf/formats/filter.h"
#include "loopperf/profile/labels.h"
#include "stacks.h"

namespace loopperf::formats {

namespace {

// A .cpuprofile lists every sample one by one (~30 bytes each while written): a profile from
// elsewhere whose counts add up to billions would take minutes and gigabytes. 20 million is five
// hours of one thread at 999 Hz, well past what DevTools can open; the default writes one thread.
constexpr int64_t kMaxCpuprofileSamples = 20'000'000;

// How many .cpuprofile samples one pprof sample stands for.
int64_t sample_count(const detail::Stacks& st, const profile::Profile& p, int64_t value) {
  if (st.value.type.unit == "count") return value;
  if (p.period > 0 && st.value.type.unit == p.period_type.unit)
    return std::max<int64_t>(1, std::llround(static_cast<double>(value) / static_cast<double>(p.period)));
  return value;
}

// The thread a .cpuprofile describes when nobody chose one: the main loop, else the busiest.
size_t default_thread(const detail::Stacks& st) {
  size_t best = 0;
  for (size_t i = 0; i < st.threads.size(); i++) {
    if (st.threads[i].role == profile::kMainLoopRole) return i;
    if (st.threads[i].total > st.threads[best].total) best = i;
  }
  return best;
}

void append_call_frame(std::string& out, const detail::FrameInfo& f, std::map<std::string, int>& script_ids) {
  std::string url;
  if (f.kind == profile::FrameKind::kJs && !f.file.empty())
    url = f.file[0] == '/' ? "file://" + f.file : f.file;
  int script = 0;
  if (!url.empty()) script = script_ids.try_emplace(url, static_cast<int>(script_ids.size()) + 1).first->second;
  out += "{\"functionName\":";
  detail::append_json_string(out, f.name);
  out += ",\"scriptId\":\"" + std::to_string(script) + "\",\"url\":";
  detail::append_json_string(out, url);
  // This format counts lines and columns from 0; pprof and speedscope from 1.
  out += ",\"lineNumber\":" + std::to_string(f.line > 0 ? f.line - 1 : -1);
  // A known line with an unknown column points at the line's start rather than at "column -1".
  out += ",\"columnNumber\":" + std::to_string(f.line > 0 ? std::max<int64_t>(f.column - 1, 0) : -1) + "}";
}

}  // namespace

Result<std::string> to_cpuprofile(const profile::Profile& in, const CpuprofileOptions& opt) {
  const profile::Profile* p = &in;
  profile::Profile chosen;
  if (!opt.thread.empty()) {
    FilterSpec spec;
    spec.threads = {opt.thread};
    auto f = filter_profile(in, spec);
    if (!f) return f.error();
    chosen = std::move(*f);
    p = &chosen;
  }
  auto stacks = detail::collect_stacks(*p, {.phase_roots = opt.phase_roots,
                                            .value_type = {},
                                            .preference = detail::ValuePreference::kCount,
                                            .diff = detail::DiffMode::kRefuse,
                                            .writer = ".cpuprofile"});
  if (!stacks) return stacks.error();
  detail::sort_samples(*stacks);
  // A selector may name several threads (a role); they share one timeline then.
  const bool all_threads = opt.all_threads || !opt.thread.empty() || stacks->threads.size() <= 1;
  const size_t thread = all_threads ? 0 : default_thread(*stacks);

  detail::CallTree tree;  // node i has id i + 1; (root) is 1
  std::vector<uint32_t> sample_nodes;
  std::vector<int64_t> sample_counts;
  int64_t total = 0;
  for (const auto& s : stacks->samples) {
    if (!all_threads && s.thread != thread) continue;
    uint32_t cur = 0;
    for (uint32_t f : s.frames) cur = tree.child(cur, f);
    // A negative count lists nothing (and summing a few of them near INT64_MIN would overflow).
    int64_t n = std::max<int64_t>(sample_count(*stacks, *p, s.value), 0);
    if (n > kMaxCpuprofileSamples - total)
      return make_error(ErrorCode::kInput,
                        "the profile holds more than " + std::to_string(kMaxCpuprofileSamples) +
                            " samples, and a .cpuprofile lists each one",
                        "write .speedscope.json, .html or .folded instead, or narrow it with --thread / --phase");
    tree.add(cur, n);
    sample_nodes.push_back(cur);
    sample_counts.push_back(n);
    total += n;
  }

  // Synthesized timing: one sample per period, accumulated in nanoseconds so that rounding to
  // microseconds does not drift over a long profile.
  double step_ns = 1e6;
  if (p->period > 0 && p->period_type.unit == "nanoseconds") step_ns = static_cast<double>(p->period);
  else if (p->duration_nanos > 0 && total > 0) step_ns = static_cast<double>(p->duration_nanos) / static_cast<double>(total);
  const int64_t start_us = p->time_nanos / 1000;

  std::string out;
  const auto& nodes = tree.nodes();
  out.reserve(64 * nodes.size() + 16 * static_cast<size_t>(total) + 256);
  out += "{\"nodes\":[";
  std::map<std::string, int> script_ids;
  for (size_t i = 0; i < nodes.size(); i++) {
    if (i) out.push_back(',');
    out += "{\"id\":" + std::to_string(i + 1) + ",\"callFrame\":";
    if (i == 0)
      out += "{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1}";
    else
      append_call_frame(out, stacks->frames[nodes[i].frame], script_ids);
    out += ",\"hitCount\":" + std::to_string(nodes[i].self);
    if (!nodes[i].children.empty()) {
      out += ",\"children\":[";
      for (size_t k = 0; k < nodes[i].children.size(); k++) {
        if (k) out.push_back(',');
        out += std::to_string(nodes[i].children[k] + 1);
      }
      out.push_back(']');
    }
    out.push_back('}');
  }
  std::string samples, deltas;
  int64_t index = 0, prev_us = 0;
  for (size_t i = 0; i < sample_nodes.size(); i++) {
    const std::string id = std::to_string(sample_nodes[i] + 1);
    for (int64_t k = 0; k < sample_counts[i]; k++, index++) {
      int64_t at_us = std::llround(static_cast<double>(index + 1) * step_ns / 1000.0);
      if (index) {
        samples.push_back(',');
        deltas.push_back(',');
      }
      samples += id;
      deltas += std::to_string(at_us - prev_us);
      prev_us = at_us;
    }
  }
  out += "],\"startTime\":" + std::to_string(start_us) + ",\"endTime\":" + std::to_string(start_us + prev_us);
  out += ",\"samples\":[" + samples + "],\"timeDeltas\":[" + deltas + "]}\n";
  return out;
}

}  // namespace loopperf::formats
