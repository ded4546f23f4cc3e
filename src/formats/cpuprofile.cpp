#include "loopperf/formats/cpuprofile.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <map>

#include "loopperf/formats/filter.h"
#include "loopperf/profile/labels.h"
#include "sink.h"
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

namespace detail {

Status write_cpuprofile(const profile::Profile& in, const CpuprofileOptions& opt, Sink& sink) {
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
  auto stacks = collect_stacks(*p, {.phase_roots = opt.phase_roots,
                                    .value_type = {},
                                    .preference = ValuePreference::kCount,
                                    .diff = DiffMode::kRefuse,
                                    .writer = ".cpuprofile"});
  if (!stacks) return stacks.error();
  auto& samples = stacks->samples;
  // A selector may name several threads (a role); they share one timeline then.
  const bool all_threads = opt.all_threads || !opt.thread.empty() || stacks->threads.size() <= 1;
  if (!all_threads) {
    const size_t thread = default_thread(*stacks);
    std::erase_if(samples, [&](const StackRef& s) { return s.thread != thread; });
  }
  // How many .cpuprofile samples each stands for (kept in `value` from here on).
  int64_t total = 0;
  for (auto& s : samples) {
    s.value = std::max<int64_t>(sample_count(*stacks, *p, s.value), 0);
    if (s.value > kMaxCpuprofileSamples - total)
      return make_error(ErrorCode::kInput,
                        "the profile holds more than " + std::to_string(kMaxCpuprofileSamples) +
                            " samples, and a .cpuprofile lists each one",
                        "write .speedscope.json, .html or .folded instead, or narrow it with --thread / --phase");
    total += s.value;
  }

  // The call tree, walked twice in preorder without being built (walk_tree): first for each node's
  // subtree size, which gives its children's ids in the second, which writes the nodes. Node ids
  // are preorder numbers from 1, the (root).
  sort_for_tree(*stacks, /*by_thread=*/false);
  size_t node_count = 1;
  walk_tree(*stacks, false, nullptr, [&](uint32_t) { node_count++; }, [] {}, [](size_t) {});
  if (node_count > UINT32_MAX) return make_error(ErrorCode::kInput, "the profile's call tree has more than 2^32 nodes");
  std::vector<uint32_t> size;  // by id - 1
  size.reserve(node_count);    // exactly: a profile of distinct stacks has several nodes a sample
  size.push_back(0);
  {
    std::vector<uint32_t> open = {0};
    walk_tree(
        *stacks, false, nullptr,
        [&](uint32_t) {
          open.push_back(static_cast<uint32_t>(size.size()));
          size.push_back(0);
        },
        [&] {
          size[open.back()] = static_cast<uint32_t>(size.size()) - open.back();
          open.pop_back();
        },
        [](size_t) {});
    size[0] = static_cast<uint32_t>(size.size());
  }

  std::string& out = sink.out();
  out += "{\"nodes\":[";
  std::map<std::string, int> script_ids;
  // A node is written once its self count is known: a node's own samples come right after it is
  // entered, before any of its callees' (sort_for_tree), so it is written when the walk moves on.
  struct Pending {
    uint32_t id = 0;  // 0-based
    int64_t frame = -1;
    int64_t hits = 0;
  } pending;
  uint32_t next_id = 0;
  auto write_pending = [&] {
    const uint32_t i = pending.id;
    if (i) out.push_back(',');
    out += "{\"id\":" + std::to_string(i + 1) + ",\"callFrame\":";
    if (pending.frame < 0)
      out += "{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1}";
    else
      append_call_frame(out, stacks->frames[static_cast<size_t>(pending.frame)], script_ids);
    out += ",\"hitCount\":" + std::to_string(pending.hits);
    if (size[i] > 1) {
      out += ",\"children\":[";
      for (uint32_t c = i + 1; c < i + size[i]; c += size[c]) {
        if (c != i + 1) out.push_back(',');
        out += std::to_string(c + 1);
      }
      out.push_back(']');
    }
    out.push_back('}');
    sink.spill();
  };
  {
    std::vector<uint32_t> open = {0};
    walk_tree(
        *stacks, false, nullptr,
        [&](uint32_t frame) {
          write_pending();
          pending = {++next_id, frame, 0};
          open.push_back(next_id);
        },
        [&] { open.pop_back(); },
        [&](size_t k) {
          samples[k].node = open.back();
          pending.hits += samples[k].value;  // the open node is the pending one (see above)
        });
    write_pending();
  }

  // The time line: samples in the synthesized order (thread, phase, then stack: a node's preorder
  // id orders stacks as their frames do), one entry per period.
  std::sort(samples.begin(), samples.end(), [&](const StackRef& a, const StackRef& b) {
    if (int c = compare_thread_phase(*stacks, a, b)) return c < 0;
    if (a.node != b.node) return a.node < b.node;
    return a.sample < b.sample;
  });

  // Synthesized timing: one sample per period, accumulated in nanoseconds so that rounding to
  // microseconds does not drift over a long profile.
  double step_ns = 1e6;
  if (p->period > 0 && p->period_type.unit == "nanoseconds") step_ns = static_cast<double>(p->period);
  else if (p->duration_nanos > 0 && total > 0) step_ns = static_cast<double>(p->duration_nanos) / static_cast<double>(total);
  const int64_t start_us = p->time_nanos / 1000;
  auto at_us = [&](int64_t index) { return std::llround(static_cast<double>(index + 1) * step_ns / 1000.0); };
  const int64_t end_us = total > 0 ? at_us(total - 1) : 0;

  out += "],\"startTime\":" + std::to_string(start_us) + ",\"endTime\":" + std::to_string(start_us + end_us);
  out += ",\"samples\":[";
  int64_t index = 0;
  for (const auto& s : samples) {
    const std::string id = std::to_string(s.node + 1);
    for (int64_t k = 0; k < s.value; k++, index++) {
      if (index) out.push_back(',');
      out += id;
      sink.spill();
    }
  }
  out += "],\"timeDeltas\":[";
  for (int64_t i = 0, prev_us = 0; i < total; i++) {
    const int64_t t = at_us(i);
    if (i) out.push_back(',');
    out += std::to_string(t - prev_us);
    prev_us = t;
    sink.spill();
  }
  out += "]}\n";
  return {};
}

}  // namespace detail

Result<std::string> to_cpuprofile(const profile::Profile& p, const CpuprofileOptions& opt) {
  return detail::to_string(&detail::write_cpuprofile, p, opt);
}

}  // namespace loopperf::formats
