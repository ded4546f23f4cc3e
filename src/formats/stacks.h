// Private to the writers (not part of the public API): the one flattening of a Profile into
// root-first stacks grouped by thread, shared by speedscope, .cpuprofile, folded and the HTML flame
// graph so that they all agree on frame names, thread names, thread order and phase roots.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/profile/labels.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats::detail {

// Which of a profile's sample values a writer weighs stacks by.
enum class ValuePreference {
  kCount,    // a "count" type (samples) first: folded, flame graph, .cpuprofile sample expansion
  kDefault,  // pprof's rule: default_sample_type, else the last type (time for loopperf and Go)
};

struct ValueChoice {
  size_t index = 0;
  profile::ValueType type;
};

// `requested` (a sample type name, e.g. "cpu") wins; a name the profile lacks is a usage error
// listing the types it has. A profile without sample types is an input error.
Result<ValueChoice> choose_value(const profile::Profile& p, std::string_view requested, ValuePreference pref);

enum class SyntheticKind { kNone, kThread, kPhase };

struct FrameInfo {
  std::string name;
  std::string file;  // source file, or the mapping's file for native code
  int64_t line = 0;  // 1-based; 0 when unknown
  int64_t column = 0;
  profile::FrameKind kind = profile::FrameKind::kUnknown;
  SyntheticKind synthetic = SyntheticKind::kNone;
};

struct ThreadInfo {
  std::string name;  // the `thread` label, "" when absent
  int64_t tid = 0;
  bool has_tid = false;
  std::string role;  // the `role` label, "" when absent
  int64_t total = 0;       // head's samples in a diff profile
  int64_t base_total = 0;  // diff profiles only: base's samples (as positive magnitudes)
  // "node (4242)"; the bare name or "tid 4242" when one is missing; "all" without either.
  std::string label() const;
  bool is_loop() const { return profile::is_loop_role(role); }
};

// 48 bytes, its frames in Stacks::frame_ids: a profile of millions of distinct samples is expanded
// into as many (issue 22).
struct StackSample {
  uint32_t thread = 0;                // index into Stacks::threads
  bool base = false;                  // diff profiles only: a base sample (pprof::base=true or negative)
  std::string_view phase;             // the `phase` label, "" when absent (held by Stacks::phases)
  std::span<const uint32_t> frames;   // root first; indices into Stacks::frames (phase root included)
  int64_t value = 0;                  // > 0 (a base sample's magnitude in a diff profile)
};

struct Stacks {
  Stacks() = default;
  Stacks(Stacks&&) = default;  // moved, never copied: samples view frame_ids and phases
  Stacks& operator=(Stacks&&) = default;
  Stacks(const Stacks&) = delete;
  Stacks& operator=(const Stacks&) = delete;

  std::vector<FrameInfo> frames;
  std::vector<uint32_t> frame_ids;  // every sample's frames, one after the other
  std::deque<std::string> phases;   // the distinct phase labels (a deque: they never move)
  std::vector<ThreadInfo> threads;  // main loop, worker loops, then the rest; by tid within a role
  std::vector<StackSample> samples;
  bool has_thread_labels = false;   // false for profiles from tools that do not label threads
  ValueChoice value;
  int64_t total = 0;       // head's samples in a diff profile
  bool diff = false;       // a diff profile, split into base and head (DiffMode::kSplit)
  int64_t base_total = 0;  // diff profiles only
};

// What a writer does with a diff profile (`loopperf diff -o`, Go pprof's -diff_base convention: head
// samples plus base samples scaled to head's total, negated and labelled pprof::base=true).
enum class DiffMode {
  kRefuse,  // a usage error: one flame/time line cannot show two profiles, and dropping the negated
            // base samples would silently draw head alone as if it were the whole story
  kSplit,   // keep both: base samples get `base = true` and a positive value (HTML flame graph)
};

struct StackOptions {
  bool phase_roots = false;  // prepend a synthetic "[poll]" ... frame from the sample's phase label
  std::string value_type;    // sample type name; empty = by preference
  ValuePreference preference = ValuePreference::kCount;
  DiffMode diff = DiffMode::kRefuse;
  std::string_view writer;  // the format's name, for the refusal of a diff profile
};

// Samples with a non-positive chosen value are dropped (they carry no weight in any of the formats).
// A diff profile (profile::is_diff_profile) is refused, or with DiffMode::kSplit kept: a sample is base when labelled
// pprof::base=true or when its value is negative, and weighs |value| on its side (zero is dropped).
// Threads of a split diff group by name and role, not tid: base and head ran as different
// processes, so the same thread has different tids on the two sides.
// Frames merge by (name, file, start line, kind): pprof may hold one function per JIT tier; in a
// split diff by (name, file base name, kind), so that base and head frames from two checkouts meet.
Result<Stacks> collect_stacks(const profile::Profile& p, const StackOptions& opt);

// Sorts samples so that equal stacks are adjacent and stacks sharing a prefix are contiguous:
// thread order, then libuv phase order, then frame names. This is the synthesized "time" order
// of the formats that need one (pprof keeps no per-sample timestamps).
void sort_samples(Stacks& s);

// The call tree of a set of stacks: node 0 is the root, children in first-insertion order.
class CallTree {
 public:
  struct Node {
    uint32_t frame = 0;  // index into Stacks::frames; meaningless for the root
    std::vector<uint32_t> children;
    int64_t self = 0;
    int64_t total = 0;
    int64_t base_self = 0;   // diff profiles: the base side, summed apart from head's
    int64_t base_total = 0;
  };
  CallTree() : nodes_(1) {}
  // The child of `parent` for `frame`, created on first use.
  uint32_t child(uint32_t parent, uint32_t frame);
  // Adds `value` to the totals of `leaf` and every ancestor (parents always precede children).
  void add(uint32_t leaf, int64_t value);
  // The same for a base sample of a diff profile (base_self, base_total).
  void add_base(uint32_t leaf, int64_t value);
  // Per node, the width a diff flame graph draws it with: max(base, head) total, and at least the
  // sum of its children's widths so that they always fit inside it. A frame that vanished in head
  // keeps its base width instead of disappearing; without base samples this is `total`.
  std::vector<int64_t> diff_widths() const;
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  std::vector<Node> nodes_;
  std::vector<uint32_t> parent_ = {0};
  std::unordered_map<uint64_t, uint32_t> index_;
};

// Position of a phase name in one loop iteration (timers first, outside-loop and unknown last).
int phase_rank(std::string_view phase);

// What a viewer calls the profile: the target's command line when loopperf recorded it.
std::string profile_title(const profile::Profile& p);

// JSON string literal (quotes included) for arbitrary bytes: invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace loopperf::formats::detail
