// Gives every sample its `phase`, `activity` and `role` labels from its stack.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/loop/labels.h"
#include "loopperf/profile/profile.h"

namespace loopperf::loop {

// One frame of a stack as the classifier sees it: leaf first, inlined frames expanded.
struct FrameRef {
  std::string_view name;  // demangled function name
  profile::FrameKind kind = profile::FrameKind::kUnknown;
  const profile::Location* location = nullptr;
  bool leaf = false;  // the sampled pc (not a return address)
  bool jit = false;   // in anonymous executable memory (V8's code space)
  bool c_library = false;  // in the C library (memcmp, malloc ...): whoever called it did the work
  // The rules' facts about `name`, one bit per Fact (facts_of); kFactsUnknown: computed on use.
  static constexpr uint32_t kFactsUnknown = UINT32_MAX;
  uint32_t facts = kFactsUnknown;
};

// V8's own code by its name: builtins, runtime functions, stubs, its C++ (v8::internal, and the v8::
// API). The classifier's "V8 working for the JavaScript" and the report's folding both ask this.
bool is_v8_internal(std::string_view function_name);

// One bit per Fact (rules.h) that `function_name` matches.
uint32_t facts_of(std::string_view function_name);

// Phase of a frame that lies in uv_run, from the call-site table of the binary it is in.
using UvRunPhaseFn = std::function<Phase(const FrameRef& uv_run_frame)>;

struct Classification {
  Phase phase = Phase::kOutsideLoop;
  Activity activity = Activity::kNative;
  Entry entry = Entry::kUnknown;  // loop threads only
};

// Classifies one stack of a thread with the given role.
Classification classify_stack(const std::vector<FrameRef>& frames, ThreadRole role, const UvRunPhaseFn& uv_run_phase);

// Role from the thread's stacks (any sample's outermost frames decide).
ThreadRole role_of_stack(const std::vector<FrameRef>& frames, bool is_main_thread);

// Expands a sample's locations into FrameRefs (facts computed).
std::vector<FrameRef> frames_of(const profile::Profile& p, const profile::SampleView& s);

// The FrameRefs of every location of a profile, computed once: name, kind and the rules' facts are
// per location, and a long recording has millions of frames over a few thousand locations.
class LocationFrames {
 public:
  explicit LocationFrames(const profile::Profile& p);
  // Appends the frames of location `id` (innermost inlined first) to `out`.
  void append(uint64_t id, bool leaf, std::vector<FrameRef>& out) const;
  std::vector<FrameRef> frames_of(const profile::SampleView& s) const;

 private:
  std::vector<std::vector<FrameRef>> by_location_;  // [id - 1]
};

struct LabelSummary {
  uint64_t loop_samples = 0;
  uint64_t unknown_phase = 0;
  // uv_run call sites whose phase was learned from node's callbacks (no call-site table): 0 when the
  // binary's table named them, or nothing could be learned.
  size_t learned_call_sites = 0;
  std::vector<std::string> warnings;  // shown once, e.g. why phases are unknown
};

// Labels every sample (replacing existing phase/activity/role/entry labels). `main_tid` is the
// target's pid. Samples of one thread all get the same role; loop threads' samples get an `entry`
// where it is known.
LabelSummary label_profile(profile::Profile& p, pid_t main_tid, const UvRunPhaseFn& uv_run_phase);

}  // namespace loopperf::loop
