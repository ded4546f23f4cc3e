// Function self/total counts per profile: what the function rows of a diff are made of.
#include "functions.h"

#include <string_view>

#include "loopperf/diff/diff.h"
#include "loopperf/loop/classifier.h"
#include "loopperf/profile/labels.h"
#include "loopperf/report/report.h"

namespace loopperf::diff {

namespace detail {

namespace {

double value_of(const profile::SampleView& s, size_t index) {
  return index < s.values.size() && s.values[index] > 0 ? static_cast<double>(s.values[index]) : 0;
}

// The kernel's entry for a hardware interrupt (timer tick, IPI, device): the outermost kernel frame of
// a sample taken while the CPU served an interrupt that arrived during user code.
bool is_interrupt_entry(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name.rfind("asm_sysvec_", 0) == 0 || name.rfind("asm_common_interrupt", 0) == 0 ||
         ends_with("_interrupt");
}

enum class LocKind : uint8_t { kUser, kKernel, kInterruptEntry };

}  // namespace

uint32_t KeyTable::id(const std::string& key) {
  auto [it, fresh] = ids_.try_emplace(key, static_cast<uint32_t>(names_.size()));
  if (fresh) names_.push_back(key);
  return it->second;
}

std::string basename_of(const std::string& file) {
  if (file.rfind("node:", 0) == 0) return file;  // node:fs, node:internal/timers: already short
  size_t slash = file.rfind('/');
  return slash == std::string::npos ? file : file.substr(slash + 1);
}

namespace {

// What a frame is to the folding of V8's own code (docs/diff.md, "V8's own code").
enum class Fold : uint8_t {
  kOther,     // native, kernel, garbage collection, or unknown outside V8's code space
  kJs,        // a JavaScript function
  kInternal,  // V8's own code working for JavaScript: builtins, stubs, inline caches, deoptimization
              // trampolines, runtime functions, V8's C++ (not its collector), unnamed JIT code
};

Fold fold_of(const profile::Profile& p, const profile::Location& loc, const profile::Line* line) {
  const profile::Mapping* m = p.mapping(loc.mapping_id);
  const bool jit = m && m->jit();
  if (!line) return jit ? Fold::kInternal : Fold::kOther;
  switch (profile::frame_kind(p, loc, *line)) {
    case profile::FrameKind::kJs: return Fold::kJs;
    case profile::FrameKind::kV8Builtin: return Fold::kInternal;
    case profile::FrameKind::kUnknown: return jit ? Fold::kInternal : Fold::kOther;
    case profile::FrameKind::kNative: {
      const profile::Function* fn = p.function(line->function_id);
      return fn && loop::is_v8_internal(fn->name) ? Fold::kInternal : Fold::kOther;
    }
    case profile::FrameKind::kKernel:
    case profile::FrameKind::kGc: return Fold::kOther;
  }
  return Fold::kOther;
}

struct KeyedFrame {
  uint32_t key = 0;
  Fold fold = Fold::kOther;
};

}  // namespace

ProfileCounts count_functions(const profile::Profile& p, size_t count_idx, KeyTable& keys) {
  // One key list per location (inlined frames expand to several, innermost first), computed once.
  std::vector<std::vector<KeyedFrame>> loc_keys(p.locations.size());
  std::vector<LocKind> loc_kind(p.locations.size(), LocKind::kUser);
  for (size_t i = 0; i < p.locations.size(); i++) {
    const profile::Location& loc = p.locations[i];
    if (!loc.lines.empty() && profile::frame_kind(p, loc, loc.lines.back()) == profile::FrameKind::kKernel) {
      const profile::Function* fn = p.function(loc.lines.back().function_id);
      loc_kind[i] = fn && is_interrupt_entry(fn->name) ? LocKind::kInterruptEntry : LocKind::kKernel;
    }
    if (loc.lines.empty()) {
      const profile::Mapping* m = p.mapping(loc.mapping_id);
      loc_keys[i].push_back({keys.id(m ? "[unknown] " + basename_of(m->file) : "[unknown]"), fold_of(p, loc, nullptr)});
    }
    for (const auto& line : loc.lines) loc_keys[i].push_back({keys.id(function_key(p, loc, line)), fold_of(p, loc, &line)});
  }
  // Every key of this profile is interned by now.
  ProfileCounts c;
  c.all.grow(keys.size());
  std::vector<size_t> seen(keys.size(), 0);  // stamp per key: counted in total for this sample already
  size_t stamp = 0;
  std::vector<KeyedFrame> frames;  // one sample's, leaf first
  std::vector<int32_t> owner;      // per frame: the frame its samples count for (itself, or its JS caller)
  for (const auto& s : p.samples) {
    double v = value_of(s, count_idx);
    if (v == 0) continue;
    c.all.n += v;
    FunctionCounts* role = nullptr;
    if (auto r = profile::parse_role(s.str_label(profile::kRoleLabel)); r && profile::is_loop_role(*r)) {
      role = &c.by_role[std::string(profile::role_name(*r))];
      role->grow(keys.size());
      role->n += v;
    }
    stamp++;
    // Interrupts are the machine's doing, not the program's, and their rate follows the load of
    // the runner: such a sample counts for the user frame the interrupt arrived in. System calls
    // and page faults keep their kernel frames (the program asked for them).
    auto valid = [&](uint64_t id) { return id != 0 && id <= p.locations.size(); };
    size_t first = 0, user = 0;
    while (user < s.location_ids.size() &&
           (!valid(s.location_ids[user]) || loc_kind[s.location_ids[user] - 1] != LocKind::kUser))
      user++;
    if (user > 0 && user < s.location_ids.size() && valid(s.location_ids[user - 1]) &&
        loc_kind[s.location_ids[user - 1] - 1] == LocKind::kInterruptEntry)
      first = user;
    frames.clear();
    for (size_t f = first; f < s.location_ids.size(); f++)
      if (valid(s.location_ids[f]))
        for (const KeyedFrame& k : loc_keys[s.location_ids[f] - 1]) frames.push_back(k);
    if (frames.empty()) continue;
    // V8's own code counts for the JavaScript function that called it: which IC, stub or builtin a
    // function's time lands in changes from one process to the next with V8's tiering and inlining
    // decisions. From the root: a run of V8 frames whose nearest caller outside V8 is JavaScript
    // belongs to that caller; called from native code (an API call, the compiler's threads) it
    // keeps its own rows.
    owner.assign(frames.size(), -1);
    int32_t js_caller = -1;
    for (size_t i = frames.size(); i-- > 0;) {
      if (frames[i].fold == Fold::kJs) js_caller = static_cast<int32_t>(i);
      else if (frames[i].fold != Fold::kInternal) js_caller = -1;
      owner[i] = frames[i].fold == Fold::kInternal && js_caller >= 0 ? js_caller : static_cast<int32_t>(i);
    }
    const uint32_t self_key = frames[owner[0]].key;
    c.all.self[self_key] += v;
    if (role) role->self[self_key] += v;
    for (size_t i = 0; i < frames.size(); i++) {
      if (owner[i] != static_cast<int32_t>(i)) continue;  // folded: its caller is counted as itself
      const uint32_t k = frames[i].key;
      if (seen[k] != stamp) {  // recursion counts once in total
        seen[k] = stamp;
        c.all.total[k] += v;
      }
    }
  }
  return c;
}

}  // namespace detail

std::string function_key(const profile::Profile& p, const profile::Location& loc, const profile::Line& line) {
  const profile::Function* fn = p.function(line.function_id);
  if (!fn) return "[unknown]";
  if (profile::frame_kind(p, loc, line) == profile::FrameKind::kJs) {
    std::string name = fn->name.empty() ? "(anonymous)" : fn->name;
    return fn->file.empty() ? name : name + " (" + detail::basename_of(fn->file) + ")";
  }
  return report::short_name(fn->name);
}

}  // namespace loopperf::diff
