#include "loopperf/profile/profile.h"

namespace loopperf::profile {

std::string_view Profile::meta(std::string_view key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return {};
}

void Profile::set_meta(std::string key, std::string value) {
  for (auto& [k, v] : metadata) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata.emplace_back(std::move(key), std::move(value));
}

std::optional<size_t> Profile::value_index(std::string_view type) const {
  for (size_t i = 0; i < sample_types.size(); i++)
    if (sample_types[i].type == type) return i;
  return std::nullopt;
}

static bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view v8_js_tag(std::string_view system_name) {
  for (std::string_view tag : kV8JsTags)
    if (system_name.starts_with(tag)) return tag;
  return {};
}

FrameKind frame_kind(const Profile& p, const Location& loc, const Line& line) {
  const Function* fn = p.function(line.function_id);
  const Mapping* m = p.mapping(loc.mapping_id);
  std::string_view sys = fn ? std::string_view(fn->system_name) : std::string_view();
  std::string_view name = fn ? std::string_view(fn->name) : std::string_view();
  if (m && m->file == "[kernel.kallsyms]") return FrameKind::kKernel;
  if (!v8_js_tag(sys).empty() || starts_with(sys, "Eval:") || starts_with(sys, "RegExp:")) return FrameKind::kJs;
  if (starts_with(sys, "Builtin:") || starts_with(sys, "BytecodeHandler:") || starts_with(sys, "Builtins_"))
    return FrameKind::kV8Builtin;
  if (name.find("v8::internal::Heap::") != std::string_view::npos ||
      name.find("v8::internal::Scavenge") != std::string_view::npos ||
      name.find("v8::internal::MarkCompact") != std::string_view::npos ||
      name.find("v8::internal::IncrementalMarking") != std::string_view::npos ||
      name.find("v8::internal::Sweeper") != std::string_view::npos ||
      name.find("v8::internal::ConcurrentMarking") != std::string_view::npos ||
      name.find("v8::internal::MinorMarkCompact") != std::string_view::npos)
    return FrameKind::kGc;
  if (name.empty() || starts_with(name, "[unknown]")) return FrameKind::kUnknown;
  return FrameKind::kNative;
}

const char* frame_kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::kJs: return "js";
    case FrameKind::kNative: return "native";
    case FrameKind::kKernel: return "kernel";
    case FrameKind::kV8Builtin: return "v8-builtin";
    case FrameKind::kGc: return "gc";
    case FrameKind::kUnknown: return "unknown";
  }
  return "unknown";
}

}  // namespace loopperf::profile
