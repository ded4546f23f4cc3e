#include "loopperf/loop/classifier.h"

#include <algorithm>
#include <map>

#include "loopperf/loop/rules.h"

namespace loopperf::loop {

namespace {

struct Facts {
  static constexpr size_t kNone = SIZE_MAX;
  // Index of the first (innermost) frame with the fact. Sized by the last enumerator of Fact
  // (kPhaseCallback; it was kThreadRoot + 1, one short: first[kPhaseCallback] read uv_run_count).
  size_t first[static_cast<size_t>(Fact::kPhaseCallback) + 1];
  size_t uv_run_count = 0;
  size_t outer_uv_run = kNone;
  Facts() { std::fill(std::begin(first), std::end(first), kNone); }
  bool has(Fact f) const { return first[static_cast<size_t>(f)] != kNone; }
  size_t at(Fact f) const { return first[static_cast<size_t>(f)]; }
};

uint32_t frame_facts(const FrameRef& f) {
  return f.facts != FrameRef::kFactsUnknown ? f.facts : loop::facts_of(f.name);
}

Facts gather(const std::vector<FrameRef>& frames) {
  Facts facts;
  for (size_t i = 0; i < frames.size(); i++) {
    uint32_t bits = frame_facts(frames[i]);
    while (bits) {
      const size_t f = static_cast<size_t>(__builtin_ctz(bits));
      bits &= bits - 1;
      if (f >= std::size(facts.first)) continue;  // a Fact added after kPhaseCallback
      size_t& slot = facts.first[f];
      if (slot == Facts::kNone) slot = i;
      if (f == static_cast<size_t>(Fact::kUvRun)) {
        facts.uv_run_count++;
        facts.outer_uv_run = i;  // frames are leaf first: the last one seen is the outermost
      }
    }
  }
  return facts;
}

size_t leaf_user_index(const std::vector<FrameRef>& frames) {
  for (size_t i = 0; i < frames.size(); i++)
    if (frames[i].kind != profile::FrameKind::kKernel) return i;
  return frames.size();
}

bool is_poll_wait(const FrameRef& f) { return frame_facts(f) & (1u << static_cast<unsigned>(Fact::kPollWait)); }

// Without uv_run's call sites (a stripped binary), a node callback that only one phase ever runs
// still tells the phase: the one nearest to uv_run wins.
Phase phase_from_callbacks(const std::vector<FrameRef>& frames, size_t uv_run_index) {
  for (size_t i = uv_run_index; i-- > 0;) {
    for (const Rule& r : rules())
      if (r.fact == Fact::kPhaseCallback && rule_matches(r, frames[i].name)) return r.phase;
  }
  return Phase::kUnknown;
}

bool is_js(const FrameRef& f) {
  return f.kind == profile::FrameKind::kJs || f.kind == profile::FrameKind::kV8Builtin ||
         (f.jit && f.kind == profile::FrameKind::kUnknown);
}

// V8's own C++ doing what the JavaScript asked: from the leaf (past C library functions it called),
// only V8's internals (a C++ builtin such as JSON.parse's Builtin_JsonParse, a runtime function, the
// regexp engine, an inline-cache miss, lazy compilation) up to a JavaScript frame. Node's bindings,
// libuv and libraries stay native.
bool v8_working_for_js(const std::vector<FrameRef>& frames, size_t leaf) {
  // The C library at the leaf (JSON.parse's string table comparing with memcmp) works for its caller.
  while (leaf < frames.size() && frames[leaf].c_library) leaf++;
  for (size_t i = leaf; i < frames.size(); i++) {
    if (is_js(frames[i])) return i > leaf;
    if (!is_v8_internal(frames[i].name)) return false;
  }
  return false;
}

// A JavaScript function (not a builtin) between the leaf and the innermost microtask frame: the
// sample is in a promise job's or nextTick callback's own code. Unnamed JIT code counts: it is a
// function V8 compiled.
bool runs_own_code(const std::vector<FrameRef>& frames, size_t leaf, size_t microtask_frame) {
  for (size_t i = leaf; i < microtask_frame && i < frames.size(); i++)
    if (frames[i].kind == profile::FrameKind::kJs || (frames[i].jit && frames[i].kind == profile::FrameKind::kUnknown))
      return true;
  return false;
}

// How a loop thread's work was entered: the innermost promise job or nextTick callback, else what
// its phase calls back.
Entry entry_of(const std::vector<FrameRef>& frames, const Facts& facts, Phase phase) {
  if (facts.has(Fact::kMicrotasks))
    return frames[facts.at(Fact::kMicrotasks)].name == "processTicksAndRejections" ? Entry::kNextTick
                                                                                    : Entry::kMicrotask;
  switch (phase) {
    case Phase::kTimers: return Entry::kTimer;
    case Phase::kCheck: return Entry::kImmediate;
    case Phase::kPoll:
    case Phase::kPending: return Entry::kIo;
    case Phase::kClose: return Entry::kClose;
    case Phase::kOutsideLoop: return Entry::kTopLevel;
    default: return Entry::kUnknown;
  }
}

}  // namespace

bool is_v8_internal(std::string_view name) {
  // Demangled names may start with a return type ("v8::internal::MaybeHandle<...> v8::internal::X"):
  // V8's namespaces anywhere in the name before its parameter list.
  std::string_view head = name.substr(0, name.find('('));
  return head.starts_with("Builtins_") || head.starts_with("Builtin_") || head.starts_with("Builtin:") ||
         head.starts_with("Runtime_") || head.starts_with("construct_stub_") || head.starts_with("v8::") ||
         head.find(" v8::") != std::string_view::npos;
}

uint32_t facts_of(std::string_view function_name) {
  uint32_t bits = 0;
  for_each_fact(function_name, [&](Fact f) { bits |= 1u << static_cast<unsigned>(f); });
  return bits;
}

namespace {
// Per mapping id (0: frames without one), whether some frame in it is a libuv function (uv_*,
// uv__*): the module that holds libuv, where a function named `worker` is its threadpool's entry. A
// program's own `worker` elsewhere is not (a C program's thread function of that name was given
// role libuv-pool).
std::vector<bool> libuv_mappings(const profile::Profile& p) {
  std::vector<bool> out(p.mappings.size() + 1, false);
  for (const auto& loc : p.locations) {
    if (loc.mapping_id >= out.size() || out[loc.mapping_id]) continue;
    for (const auto& line : loc.lines)
      if (const profile::Function* fn = p.function(line.function_id); fn && fn->name.starts_with("uv_")) {
        out[loc.mapping_id] = true;
        break;
      }
  }
  return out;
}

void append_location(const profile::Profile& p, const std::vector<bool>& libuv, const profile::Location* loc,
                     bool leaf, std::vector<FrameRef>& out) {
  const profile::Mapping* m = p.mapping(loc->mapping_id);
  const bool in_libuv = loc->mapping_id < libuv.size() && libuv[loc->mapping_id];
  bool jit = m && m->jit();
  std::string_view base = m ? std::string_view(m->file) : std::string_view();
  base = base.substr(base.rfind('/') + 1);
  const bool libc = base.starts_with("libc.so") || base.starts_with("libc-") || base.starts_with("libm.so");
  if (loc->lines.empty()) out.push_back(FrameRef{"", profile::FrameKind::kUnknown, loc, leaf, jit, libc, 0});
  for (const auto& line : loc->lines) {
    const profile::Function* fn = p.function(line.function_id);
    std::string_view name = fn ? std::string_view(fn->name) : std::string_view();
    uint32_t facts = facts_of(name);
    if (!in_libuv) facts &= ~(1u << static_cast<unsigned>(Fact::kPoolThread));
    out.push_back(FrameRef{name, profile::frame_kind(p, *loc, line), loc, leaf, jit, libc, facts});
  }
}
}  // namespace

std::vector<FrameRef> frames_of(const profile::Profile& p, const profile::SampleView& s) {
  std::vector<FrameRef> out;
  out.reserve(s.location_ids.size() + 4);
  const std::vector<bool> libuv = libuv_mappings(p);
  bool first = true;
  for (uint64_t id : s.location_ids) {
    const profile::Location* loc = p.location(id);
    if (!loc) continue;
    append_location(p, libuv, loc, first, out);
    first = false;
  }
  return out;
}

LocationFrames::LocationFrames(const profile::Profile& p) : by_location_(p.locations.size()) {
  const std::vector<bool> libuv = libuv_mappings(p);
  for (size_t i = 0; i < p.locations.size(); i++)
    append_location(p, libuv, &p.locations[i], false, by_location_[i]);
}

void LocationFrames::append(uint64_t id, bool leaf, std::vector<FrameRef>& out) const {
  if (id == 0 || id > by_location_.size()) return;
  size_t from = out.size();
  out.insert(out.end(), by_location_[id - 1].begin(), by_location_[id - 1].end());
  if (leaf)
    for (size_t i = from; i < out.size(); i++) out[i].leaf = true;
}

std::vector<FrameRef> LocationFrames::frames_of(const profile::SampleView& s) const {
  std::vector<FrameRef> out;
  out.reserve(s.location_ids.size() + 4);
  bool first = true;
  for (uint64_t id : s.location_ids) {
    if (id == 0 || id > by_location_.size()) continue;
    append(id, first, out);
    first = false;
  }
  return out;
}

ThreadRole role_of_stack(const std::vector<FrameRef>& frames, bool is_main_thread) {
  if (is_main_thread) return ThreadRole::kMainLoop;
  Facts facts = gather(frames);
  if (facts.has(Fact::kWorkerLoop)) return ThreadRole::kWorkerLoop;
  // libuv's pool entry is a function literally named `worker`: trust it only at the thread's root
  // (start_thread -> worker), and only in the module that holds libuv (append_location).
  if (facts.has(Fact::kPoolThread) && frames.size() - facts.at(Fact::kPoolThread) <= 3) return ThreadRole::kLibuvPool;
  if (facts.has(Fact::kPlatformThread)) return ThreadRole::kV8Platform;
  return ThreadRole::kOther;
}

Classification classify_stack(const std::vector<FrameRef>& frames, ThreadRole role, const UvRunPhaseFn& uv_run_phase) {
  Classification c;
  Facts facts = gather(frames);
  size_t leaf = leaf_user_index(frames);
  bool loop_thread = is_loop_role(role);
  bool waiting_in_poll = leaf < frames.size() && is_poll_wait(frames[leaf]);
  size_t user_frames = frames.size() - leaf;

  // Phase: from the outermost uv_run (a nested spawnSync loop belongs to the outer loop's phase).
  if (!loop_thread) {
    c.phase = Phase::kOutsideLoop;
  } else if (facts.outer_uv_run != Facts::kNone) {
    c.phase = uv_run_phase ? uv_run_phase(frames[facts.outer_uv_run]) : Phase::kUnknown;
    if (c.phase == Phase::kUnknown) c.phase = phase_from_callbacks(frames, facts.outer_uv_run);
  } else if (waiting_in_poll && user_frames <= 2) {
    // glibc's epoll_pwait clobbers rbp, so a frame-pointer walk of the blocked loop thread stops
    // at epoll_pwait: the loop thread's poll wait is the one place it blocks there.
    c.phase = Phase::kPoll;
  } else if (facts.has(Fact::kThreadRoot) || facts.has(Fact::kWorkerLoop)) {
    c.phase = Phase::kOutsideLoop;  // a complete stack without uv_run: bootstrap or shutdown
  } else {
    // The unwinder lost the stack's outer part (code without frame pointers, e.g. malloc in
    // glibc): it may well be inside uv_run, so claim nothing.
    c.phase = Phase::kUnknown;
  }

  // Activity, by priority.
  const bool nested_loop = facts.uv_run_count >= 2;
  if (facts.has(Fact::kGc)) {
    c.activity = Activity::kGc;
  } else if (waiting_in_poll || (leaf < frames.size() && facts.has(Fact::kThreadWait) && !loop_thread)) {
    c.activity = loop_thread && (nested_loop || facts.has(Fact::kSyncCall)) ? Activity::kSyncIo : Activity::kIdleWait;
  } else if (loop_thread && (nested_loop || facts.has(Fact::kSyncCall) ||
                             (facts.has(Fact::kSyncFs) &&
                              !(facts.has(Fact::kPoolSubmit) && facts.at(Fact::kPoolSubmit) < facts.at(Fact::kSyncFs))))) {
    c.activity = Activity::kSyncIo;
  } else if (facts.has(Fact::kMicrotasks) && !runs_own_code(frames, leaf, facts.at(Fact::kMicrotasks))) {
    // The microtask machinery itself: the queue's drain, promise reaction builtins, a job with no
    // JavaScript function of its own on the stack. A continuation's own code is js (or native).
    c.activity = Activity::kMicrotasks;
  } else if (leaf < frames.size() && (is_js(frames[leaf]) || v8_working_for_js(frames, leaf))) {
    c.activity = Activity::kJs;
  } else {
    c.activity = Activity::kNative;
  }
  if (loop_thread) c.entry = entry_of(frames, facts, c.phase);
  return c;
}

namespace {

// Without uv_run's call-site table (a shared libuv without its local symbols), the samples whose
// phase a node callback or the poll wait tells also tell which phase each of uv_run's call sites
// runs: one call site, one phase. A call site all of whose telling samples agree is learned, and
// then names the phase of its other samples too (JavaScript in a poll callback node has no rule
// for); a call site with two phases among them is left alone.
class CallSiteLearner {
 public:
  explicit CallSiteLearner(const UvRunPhaseFn& known) : known_(known) {}

  // A loop sample whose outermost uv_run frame's call site the table does not know: its vote is
  // taken if its callbacks or its poll wait tell a phase, and true says that its phase waits for
  // what is learned.
  bool undecided(const std::vector<FrameRef>& frames) {
    const Facts facts = gather(frames);
    if (facts.outer_uv_run == Facts::kNone || !frames[facts.outer_uv_run].location) return false;
    if (known_ && known_(frames[facts.outer_uv_run]) != Phase::kUnknown) return false;
    Phase phase = phase_from_callbacks(frames, facts.outer_uv_run);
    const size_t leaf = leaf_user_index(frames);
    if (phase == Phase::kUnknown && leaf < frames.size() && is_poll_wait(frames[leaf]) && facts.uv_run_count == 1)
      phase = Phase::kPoll;
    if (phase != Phase::kUnknown) votes_[frames[facts.outer_uv_run].location][phase]++;
    return true;
  }

  // The call sites whose votes were unanimous.
  std::map<const profile::Location*, Phase> learned() const {
    std::map<const profile::Location*, Phase> out;
    for (const auto& [loc, by_phase] : votes_)
      if (by_phase.size() == 1) out[loc] = by_phase.begin()->first;
    return out;
  }

 private:
  const UvRunPhaseFn& known_;
  std::map<const profile::Location*, std::map<Phase, uint64_t>> votes_;
};

void put_labels(profile::SampleTable& samples, size_t i, const Classification& c, ThreadRole role,
                LabelSummary& summary) {
  const profile::SampleView s = samples[i];
  // A wall-clock sample of a thread blocked in a system call that is neither the loop's poll wait
  // nor synchronous I/O: Atomics.wait, a lock, a pipe read outside libuv ...
  Activity activity = c.activity;
  if (!s.str_label("syscall").empty() && (activity == Activity::kJs || activity == Activity::kNative))
    activity = Activity::kBlocked;
  profile::Labels labels = s.labels;
  std::erase_if(labels.mutate(), [](const profile::Label& l) {
    return l.key == kPhaseLabel || l.key == kActivityLabel || l.key == kRoleLabel || l.key == kEntryLabel;
  });
  // Waiting in the poll is no entry: the loop is between callbacks.
  const bool entry = c.entry != Entry::kUnknown && activity != Activity::kIdleWait;
  labels.push_back(profile::Label{std::string(kPhaseLabel), std::string(phase_name(c.phase)), 0, "", false});
  labels.push_back(profile::Label{std::string(kActivityLabel), std::string(activity_name(activity)), 0, "", false});
  labels.push_back(profile::Label{std::string(kRoleLabel), std::string(role_name(role)), 0, "", false});
  if (entry) labels.push_back(profile::Label{std::string(kEntryLabel), std::string(entry_name(c.entry)), 0, "", false});
  const uint64_t n = s.values.empty() ? 0 : static_cast<uint64_t>(s.values[0]);
  samples.set_labels(i, labels);  // equal sets are kept once by the table
  if (is_loop_role(role)) {
    summary.loop_samples += n;
    if (c.phase == Phase::kUnknown) summary.unknown_phase += n;
  }
}

}  // namespace

LabelSummary label_profile(profile::Profile& p, pid_t main_tid, const UvRunPhaseFn& uv_run_phase) {
  LabelSummary summary;
  const LocationFrames locations(p);
  // Roles per thread first: a thread's truncated stacks inherit what its complete ones show.
  std::map<int64_t, ThreadRole> roles;
  for (const auto& s : p.samples) {
    int64_t tid = s.num_label(kTidLabel).value_or(-1);
    ThreadRole r = tid == main_tid ? ThreadRole::kMainLoop : role_of_stack(locations.frames_of(s), false);
    auto [it, inserted] = roles.try_emplace(tid, r);
    if (!inserted && it->second == ThreadRole::kOther) it->second = r;
  }
  // One pass labels every sample whose phase the call-site table (or having no uv_run frame)
  // settles: all of them for a node whose libuv has its symbols. Loop samples under a uv_run call
  // site the table does not know vote, and are labelled once the votes are counted.
  CallSiteLearner learner(uv_run_phase);
  std::vector<size_t> undecided;
  for (size_t i = 0; i < p.samples.size(); i++) {
    const profile::SampleView s = p.samples[i];
    const ThreadRole role = roles[s.num_label(kTidLabel).value_or(-1)];
    const std::vector<FrameRef> frames = locations.frames_of(s);
    if (is_loop_role(role) && learner.undecided(frames)) {
      undecided.push_back(i);
      continue;
    }
    put_labels(p.samples, i, classify_stack(frames, role, uv_run_phase), role, summary);
  }
  const std::map<const profile::Location*, Phase> learned = learner.learned();
  summary.learned_call_sites = learned.size();
  const UvRunPhaseFn known_or_learned = [&](const FrameRef& f) {
    Phase known = uv_run_phase ? uv_run_phase(f) : Phase::kUnknown;
    if (known != Phase::kUnknown) return known;
    auto it = learned.find(f.location);
    return it == learned.end() ? Phase::kUnknown : it->second;
  };
  for (size_t i : undecided) {
    const profile::SampleView s = p.samples[i];
    const ThreadRole role = roles[s.num_label(kTidLabel).value_or(-1)];
    put_labels(p.samples, i, classify_stack(locations.frames_of(s), role, known_or_learned), role, summary);
  }
  return summary;
}

}  // namespace loopperf::loop
