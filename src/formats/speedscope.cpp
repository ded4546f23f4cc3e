#include "loopperf/formats/speedscope.h"

#include <algorithm>
#include <vector>

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

Result<std::string> to_speedscope(const profile::Profile& p, const SpeedscopeOptions& opt) {
  auto stacks = detail::collect_stacks(p, {.phase_roots = opt.phase_roots,
                                           .value_type = opt.value_type,
                                           .preference = detail::ValuePreference::kDefault,
                                           .diff = detail::DiffMode::kRefuse,
                                           .writer = "speedscope"});
  if (!stacks) return stacks.error();
  detail::sort_samples(*stacks);

  // Only frames some kept sample uses go into the shared table, numbered in first use.
  std::vector<int64_t> frame_index(stacks->frames.size(), -1);
  std::vector<uint32_t> used;
  for (const auto& s : stacks->samples)
    for (uint32_t f : s.frames)
      if (frame_index[f] < 0) {
        frame_index[f] = static_cast<int64_t>(used.size());
        used.push_back(f);
      }

  std::string out;
  out.reserve(1 << 16);
  out += "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"loopperf\",\"name\":";
  detail::append_json_string(out, opt.name.empty() ? detail::profile_title(p) : opt.name);
  out += ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[";
  for (size_t i = 0; i < used.size(); i++) {
    const auto& f = stacks->frames[used[i]];
    if (i) out.push_back(',');
    out += "{\"name\":";
    detail::append_json_string(out, f.name);
    if (!f.file.empty()) {
      out += ",\"file\":";
      detail::append_json_string(out, f.file);
    }
    if (f.line > 0) out += ",\"line\":" + std::to_string(f.line);
    if (f.line > 0 && f.column > 0) out += ",\"col\":" + std::to_string(f.column);
    out.push_back('}');
  }
  out += "]},\"profiles\":[";

  const std::string unit(speedscope_unit(stacks->value.type.unit));
  auto emit_profile = [&](const std::string& name, size_t thread) {
    int64_t total = 0;
    std::string samples, weights;
    const detail::StackSample* prev = nullptr;
    int64_t pending = 0;
    auto flush = [&] {
      if (!prev) return;
      if (!weights.empty()) {
        samples.push_back(',');
        weights.push_back(',');
      }
      samples.push_back('[');
      for (size_t k = 0; k < prev->frames.size(); k++) {
        if (k) samples.push_back(',');
        samples += std::to_string(frame_index[prev->frames[k]]);
      }
      samples.push_back(']');
      weights += std::to_string(pending);
    };
    // Samples are sorted, so equal stacks are adjacent and merge into one weighted sample.
    for (const auto& s : stacks->samples) {
      if (s.thread != thread) continue;
      total += s.value;
      if (prev && std::ranges::equal(prev->frames, s.frames)) {
        pending += s.value;
        continue;
      }
      flush();
      prev = &s;
      pending = s.value;
    }
    flush();
    out += "{\"type\":\"sampled\",\"name\":";
    detail::append_json_string(out, name);
    out += ",\"unit\":\"" + unit + "\",\"startValue\":0,\"endValue\":" + std::to_string(total);
    out += ",\"samples\":[" + samples + "],\"weights\":[" + weights + "]}";
  };
  if (stacks->threads.empty()) emit_profile("all", 0);
  for (size_t t = 0; t < stacks->threads.size(); t++) {
    if (t) out.push_back(',');
    emit_profile(stacks->threads[t].label(), t);
  }
  out += "]}\n";
  return out;
}

}  // namespace loopperf::formats
