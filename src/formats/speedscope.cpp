#include "loopperf/formats/speedscope.h"

#include <algorithm>
#include <vector>

#include "sink.h"
#include "stacks.h"

namespace loopperf::formats {

namespace {

// speedscope's ValueUnit enum; pprof units outside it are shown as plain numbers.
std::string_view speedscope_unit(std::string_view unit) {
  for (std::string_view u : {"bytes", "microseconds", "milliseconds", "nanoseconds", "seconds"})
    if (unit == u) return u;
  return "none";
}

}  // namespace

namespace detail {

Status write_speedscope(const profile::Profile& p, const SpeedscopeOptions& opt, Sink& sink) {
  auto stacks = collect_stacks(p, {.phase_roots = opt.phase_roots,
                                   .value_type = opt.value_type,
                                   .preference = ValuePreference::kDefault,
                                   .diff = DiffMode::kRefuse,
                                   .writer = "speedscope"});
  if (!stacks) return stacks.error();
  sort_samples(*stacks);
  const auto& samples = stacks->samples;

  // Only frames some kept sample uses go into the shared table, numbered in first use.
  std::vector<int64_t> frame_index(stacks->frames.size(), -1);
  std::vector<uint32_t> used;
  for (const auto& s : samples) {
    FrameCursor c = stacks->frames_of(s);
    for (uint32_t f; c.next(f);)
      if (frame_index[f] < 0) {
        frame_index[f] = static_cast<int64_t>(used.size());
        used.push_back(f);
      }
  }

  std::string& out = sink.out();
  out += "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"loopperf\",\"name\":";
  append_json_string(out, opt.name.empty() ? profile_title(p) : opt.name);
  out += ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[";
  for (size_t i = 0; i < used.size(); i++) {
    const auto& f = stacks->frames[used[i]];
    if (i) out.push_back(',');
    out += "{\"name\":";
    append_json_string(out, f.name);
    if (!f.file.empty()) {
      out += ",\"file\":";
      append_json_string(out, f.file);
    }
    if (f.line > 0) out += ",\"line\":" + std::to_string(f.line);
    if (f.line > 0 && f.column > 0) out += ",\"col\":" + std::to_string(f.column);
    out.push_back('}');
    sink.spill();
  }
  out += "]},\"profiles\":[";

  const std::string unit(speedscope_unit(stacks->value.type.unit));
  // Samples are sorted by thread, so a thread's are [from, to); equal stacks are adjacent and merge
  // into one weighted sample. Its stacks, then their weights, are two passes over them.
  auto emit_profile = [&](const std::string& name, size_t from, size_t to, int64_t total) {
    out += "{\"type\":\"sampled\",\"name\":";
    append_json_string(out, name);
    out += ",\"unit\":\"" + unit + "\",\"startValue\":0,\"endValue\":" + std::to_string(total);
    for (const bool weights : {false, true}) {
      out += weights ? "],\"weights\":[" : ",\"samples\":[";
      for (size_t i = from; i < to;) {
        int64_t weight = 0;
        size_t j = i;
        for (; j < to && (j == i || same_frames(*stacks, samples[i], samples[j])); j++) weight += samples[j].value;
        if (i != from) out.push_back(',');
        if (weights) {
          out += std::to_string(weight);
        } else {
          out.push_back('[');
          FrameCursor c = stacks->frames_of(samples[i]);
          bool first = true;
          for (uint32_t f; c.next(f); first = false) {
            if (!first) out.push_back(',');
            out += std::to_string(frame_index[f]);
          }
          out.push_back(']');
        }
        sink.spill();
        i = j;
      }
    }
    out += "]}";
  };
  if (stacks->threads.empty()) emit_profile("all", 0, 0, 0);
  for (size_t t = 0, from = 0; t < stacks->threads.size(); t++) {
    size_t to = from;
    while (to < samples.size() && samples[to].thread == t) to++;
    if (t) out.push_back(',');
    emit_profile(stacks->threads[t].label(), from, to, stacks->threads[t].total);
    from = to;
  }
  out += "]}\n";
  return {};
}

}  // namespace detail

Result<std::string> to_speedscope(const profile::Profile& p, const SpeedscopeOptions& opt) {
  return detail::to_string(&detail::write_speedscope, p, opt);
}

}  // namespace loopperf::formats
