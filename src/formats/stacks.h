// Private to the writers (not part of the public API): the one flattening of a Profile into
// root-first stacks grouped by thread, shared by speedscope, .cpuprofile, folded and the HTML flame
// graph so that they all agree on frame names, thread names, thread order and phase roots.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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

// One kept sample, 24 bytes: its frames are read from the profile when needed (Stacks::frames_of)
// rather than copied, so that a profile of millions of distinct samples costs the writers a small
// part of what it costs to hold (issue 22).
struct StackRef {
  static constexpr uint32_t kNoPhase = (1u << 31) - 1;
  uint32_t sample = 0;          // index into the profile's samples
  uint32_t thread = 0;          // index into Stacks::threads
  uint32_t phase : 31 = kNoPhase;  // index into Stacks::phases
  uint32_t base : 1 = 0;        // diff profiles only: a base sample (pprof::base=true or negative)
  uint32_t node = 0;            // free for a writer (the .cpuprofile's node id)
  int64_t value = 0;            // > 0 (a base sample's magnitude in a diff profile)
};

struct Stacks;

// A sample's frames, root first (its phase root, then its locations' frames), one at a time.
class FrameCursor {
 public:
  FrameCursor(const Stacks& st, const StackRef& s);
  bool next(uint32_t& frame) {
    if (phase_frame_ != kNone) {
      frame = phase_frame_;
      phase_frame_ = kNone;
      return true;
    }
    while (in_ == in_end_)
      if (!next_location()) return false;
    frame = *in_++;
    return true;
  }
  bool empty() const {
    FrameCursor c = *this;
    uint32_t f;
    return !c.next(f);
  }

 private:
  static constexpr uint32_t kNone = ~0u;
  bool next_location();
  const Stacks* st_;
  const uint32_t* loc_;        // one past the next location id (read leaf last)
  const uint32_t* loc_first_;
  const uint32_t* in_ = nullptr;
  const uint32_t* in_end_ = nullptr;
  uint32_t phase_frame_ = kNone;
};

struct Stacks {
  const profile::Profile* profile = nullptr;
  std::vector<FrameInfo> frames;
  // Location i's frames (root-most first) are location_frames[location_begin[i] .. location_begin[i + 1]).
  std::vector<uint32_t> location_frames;
  std::vector<uint32_t> location_begin;
  std::vector<std::string> phases;         // the distinct phase labels
  std::vector<uint32_t> phase_frames;      // per phase, its "[phase]" frame; empty without phase roots
  std::vector<ThreadInfo> threads;  // main loop, worker loops, then the rest; by tid within a role
  std::vector<StackRef> samples;
  bool has_thread_labels = false;   // false for profiles from tools that do not label threads
  ValueChoice value;
  int64_t total = 0;       // head's samples in a diff profile
  bool diff = false;       // a diff profile, split into base and head (DiffMode::kSplit)
  int64_t base_total = 0;  // diff profiles only

  FrameCursor frames_of(const StackRef& s) const { return FrameCursor(*this, s); }
  // Appends s's frames, root first, to `out`.
  void frames_into(const StackRef& s, std::vector<uint32_t>& out) const;
  std::string_view phase(const StackRef& s) const {
    return s.phase == StackRef::kNoPhase ? std::string_view() : std::string_view(phases[s.phase]);
  }
};

inline FrameCursor::FrameCursor(const Stacks& st, const StackRef& s) : st_(&st) {
  const auto ids = st.profile->samples[s.sample].location_ids;
  loc_first_ = ids.data();
  loc_ = ids.data() + ids.size();
  if (!st.phase_frames.empty() && s.phase != StackRef::kNoPhase) phase_frame_ = st.phase_frames[s.phase];
}

inline bool FrameCursor::next_location() {
  if (loc_ == loc_first_) return false;
  const uint32_t id = *--loc_;  // pprof lists the leaf first
  if (id == 0 || id >= st_->location_begin.size()) return true;  // decode_pprof rejects these; stay safe
  in_ = st_->location_frames.data() + st_->location_begin[id - 1];
  in_end_ = st_->location_frames.data() + st_->location_begin[id];
  return true;
}

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
// That order's first keys: thread, then phase in loop order (<0, 0, >0).
int compare_thread_phase(const Stacks& s, const StackRef& a, const StackRef& b);
// Whether two samples have the same frames.
bool same_frames(const Stacks& s, const StackRef& a, const StackRef& b);

// Sorts samples in call-tree order: by thread when `by_thread`, then by frames alone (phase roots
// in loop order, other frames by name), so that every node's samples are contiguous, the samples
// ending at a node come right before those passing through it, and children are in name order.
void sort_for_tree(Stacks& s, bool by_thread);

// Walks the call tree of samples sorted by sort_for_tree, forward or backward, without building it:
// open(frame) when a node is entered, close() when it is left (so closes come in postorder),
// leaf(index) for each sample, at the deepest open node. With `thread_frames`, a sample's path
// starts at its thread's frame. The root is the caller's: it is never opened or closed.
// Backward, the nodes close in postorder with children last-first: that sequence reversed is the
// preorder with children first-first, which is how the HTML page reads it.
template <typename Open, typename Close, typename Leaf>
void walk_tree(const Stacks& st, bool backward, const std::vector<uint32_t>* thread_frames, Open open,
               Close close, Leaf leaf) {
  std::vector<uint32_t> path, cur;
  const size_t n = st.samples.size();
  for (size_t k = 0; k < n; k++) {
    const size_t i = backward ? n - 1 - k : k;
    const StackRef& r = st.samples[i];
    cur.clear();
    if (thread_frames) cur.push_back((*thread_frames)[r.thread]);
    st.frames_into(r, cur);
    size_t common = 0;
    while (common < path.size() && common < cur.size() && path[common] == cur[common]) common++;
    for (; path.size() > common; path.pop_back()) close();
    while (path.size() < cur.size()) {
      path.push_back(cur[path.size()]);
      open(path.back());
    }
    leaf(i);
  }
  for (; !path.empty(); path.pop_back()) close();
}

// Position of a phase name in one loop iteration (timers first, outside-loop and unknown last).
int phase_rank(std::string_view phase);

// What a viewer calls the profile: the target's command line when loopperf recorded it.
std::string profile_title(const profile::Profile& p);

// JSON string literal (quotes included) for arbitrary bytes: invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace loopperf::formats::detail
