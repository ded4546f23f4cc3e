// Loop health from the poll syscall's tracepoints: a per-thread state machine (waiting / busy) fed in
// time order through a reorder buffer, with bounded memory (a log-bucketed histogram for the busy
// periods, a bounded heap for the stalls, a per-period sample map cleared at each period's end).
#include "loopperf/loop/health.h"
#include "loopperf/loop/loop_wait.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace loopperf::loop {

namespace {

// Busy-period durations: buckets growing by 2% from 1 µs to 1000 s (about 1050 counters per thread,
// whatever the recording's length); a value reads back as its bucket's geometric middle, within 1%.
class LogHistogram {
 public:
  LogHistogram() : counts_(kBuckets, 0) {}

  void add(int64_t ns) {
    size_t b = 0;
    if (ns >= kMinNs) {
      double i = std::floor(std::log(static_cast<double>(ns) / kMinNs) / kLogRatio);
      b = 1 + static_cast<size_t>(std::min<double>(i, kBuckets - 2));
    }
    counts_[b]++;
    if (n_ == 0 || ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
    n_++;
  }

  uint64_t count() const { return n_; }
  int64_t max() const { return max_; }

  // Nearest rank: the smallest value with at least q of the values at or below it.
  int64_t percentile(double q) const {
    if (n_ == 0) return 0;
    uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(n_))));
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); b++) {
      seen += counts_[b];
      if (seen < rank) continue;
      double mid = b == 0 ? kMinNs / 2.0 : kMinNs * std::exp((static_cast<double>(b) - 0.5) * kLogRatio);
      return std::clamp(static_cast<int64_t>(std::llround(mid)), min_, max_);
    }
    return max_;
  }

 private:
  static constexpr double kMinNs = 1e3;
  static constexpr double kLogRatio = 0.019802627296179713;  // ln(1.02)
  // Underflow (< 1 µs), ln(1e9) / ln(1.02) = 1046.5 buckets up to 1000 s, and overflow.
  static constexpr size_t kBuckets = 1049;
  std::vector<uint64_t> counts_;
  uint64_t n_ = 0;
  int64_t min_ = 0, max_ = 0;
};

// At equal times: an exit first, then samples, then an enter, so a sample taken at either edge of a
// busy period belongs to it ([start, end] inclusive).
enum class Kind : uint8_t { kExit = 0, kSample = 1, kEnter = 2, kEnd = 3, kGap = 4 };

struct Event {
  uint64_t time = 0;
  uint64_t seq = 0;  // arrival order, for a deterministic order among equal events
  uint64_t weight = 0;
  int64_t value = 0;  // epfd or stack index
  pid_t tid = 0;
  Kind kind = Kind::kSample;
  uint64_t frame = 0;  // poll events: the wait's events buffer
  bool cut_short = false;  // samples: the stack's walk stopped before the thread's entry
};

// std::push_heap keeps the largest first: "later" is larger, so the earliest event is on top.
bool later(const Event& a, const Event& b) {
  if (a.time != b.time) return a.time > b.time;
  if (a.kind != b.kind) return a.kind > b.kind;
  return a.seq > b.seq;
}

bool shorter(const Stall& a, const Stall& b) { return a.duration_ns > b.duration_ns; }  // min-heap by duration

struct ThreadState {
  pid_t tid = 0;
  LoopWait wait;  // which epoll waits are the loop's own
  bool waiting = false;
  bool transitioned = false;  // any poll event processed yet
  bool ended = false;
  bool period_truncated = false;  // the current busy period began with the recording
  bool period_known = true;       // false after a gap (poll_gap): the interval is not one busy period
  uint64_t since = 0, end = 0;
  uint64_t last_change = 0;  // start of the current wait or busy interval
  uint64_t last_event = 0;   // time of the last processed event (late detection)
  int64_t wait_ns = 0;
  uint64_t iterations = 0;
  LogHistogram busy;
  std::map<uint32_t, uint64_t> period_samples;  // stack index -> weight, current busy period only
  std::vector<Stall> stalls;                    // heap (shortest on top), at most kMaxStalls
  uint64_t stall_count = 0;
  // Phase brackets (health.h): the current busy period's last whole sample (-1: none yet) and the
  // cut-short samples since it, then the brackets closed so far.
  int64_t last_whole = -1;
  std::vector<std::pair<uint32_t, uint64_t>> waiting_cut;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> brackets;
  // The first and last scheduler readings (sched_reading): cpu ns, run-delay ns.
  std::optional<std::pair<uint64_t, uint64_t>> sched_first, sched_last;

  // A busy period ends (or a gap in what is known): the cut-short samples waiting have no `after`
  // (their phase stays unknown), and nothing before it brackets anything after it.
  void forget_bracket_start() {
    waiting_cut.clear();
    last_whole = -1;
  }
  void bracket(uint32_t stack, uint64_t weight, bool cut_short) {
    if (cut_short) {
      if (!waiting_cut.empty() && waiting_cut.back().first == stack) waiting_cut.back().second += weight;
      else if (waiting_cut.size() < LoopHealthTracker::kMaxWaitingCut) waiting_cut.emplace_back(stack, weight);
      return;
    }
    for (const auto& [cut, w] : waiting_cut) {
      const uint32_t before = last_whole < 0 ? PhaseBracket::kPeriodStart : static_cast<uint32_t>(last_whole);
      auto key = std::make_tuple(cut, before, stack);
      auto it = brackets.find(key);
      if (it != brackets.end()) it->second += w;
      else if (brackets.size() < LoopHealthTracker::kMaxBrackets) brackets.emplace(key, w);
    }
    waiting_cut.clear();
    last_whole = stack;
  }
};

}  // namespace

struct LoopHealthTracker::Impl {
  uint64_t start = 0;
  int64_t threshold = 0;
  int64_t window = 0;
  mutable std::mutex mu;
  std::vector<ThreadState> threads;
  std::unordered_map<pid_t, size_t> index;
  std::vector<Event> heap;
  uint64_t seq = 0;
  uint64_t newest = 0;
  uint64_t late = 0;
  bool finished = false;

  ThreadState* find(pid_t tid) {
    auto it = index.find(tid);
    return it == index.end() ? nullptr : &threads[it->second];
  }

  void push(Event e) {
    if (finished || !find(e.tid)) return;
    e.seq = seq++;
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end(), later);
    newest = std::max(newest, e.time);
    if (newest > static_cast<uint64_t>(window)) process_before(newest - static_cast<uint64_t>(window));
  }

  void process_before(uint64_t cutoff) {
    while (!heap.empty() && heap.front().time < cutoff) {
      std::pop_heap(heap.begin(), heap.end(), later);
      Event e = heap.back();
      heap.pop_back();
      process(e);
    }
  }

  void close_busy(ThreadState& t, uint64_t end_time, bool truncated_end) {
    int64_t d = static_cast<int64_t>(end_time - t.last_change);
    bool truncated = t.period_truncated || truncated_end;
    // An empty period cut by the recording's edge was not observed at all (a wait ending exactly at
    // the end); an empty complete one (exit and enter in the same nanosecond) is a real iteration.
    if (t.period_known && !(truncated && d == 0)) {
      t.busy.add(d);
      if (d > threshold) {
        t.stall_count++;
        Stall s;
        s.start_ns = static_cast<int64_t>(t.last_change - start);
        s.duration_ns = d;
        s.truncated = truncated;
        uint64_t best = 0;
        for (const auto& [stack, w] : t.period_samples)  // ascending index: ties go to the lowest
          if (w > best) {
            best = w;
            s.heaviest_stack = stack;
          }
        if (t.stalls.size() < kMaxStalls) {
          t.stalls.push_back(std::move(s));
          std::push_heap(t.stalls.begin(), t.stalls.end(), shorter);
        } else if (d > t.stalls.front().duration_ns) {
          std::pop_heap(t.stalls.begin(), t.stalls.end(), shorter);
          t.stalls.back() = std::move(s);
          std::push_heap(t.stalls.begin(), t.stalls.end(), shorter);
        }
      }
    }
    t.period_samples.clear();
    t.forget_bracket_start();
    t.period_truncated = false;
    t.period_known = true;
  }

  void process(const Event& e) {
    ThreadState& t = *find(e.tid);
    if (t.ended) return;
    if (e.time < t.last_event) {
      late++;
      return;
    }
    t.last_event = e.time;
    uint64_t time = std::max(e.time, t.since);  // an event just before the thread's start happened at it
    switch (e.kind) {
      case Kind::kSample:
        if (!t.waiting) {
          t.period_samples[static_cast<uint32_t>(e.value)] += e.weight;
          if (t.period_known) t.bracket(static_cast<uint32_t>(e.value), e.weight, e.cut_short);
        }
        return;
      case Kind::kEnd:
        close(t, time);
        return;
      case Kind::kGap:
        // A wait open at the gap counts as the wait it began as, as when an exit alone is lost.
        // (Its time is its last record's: it sorts after that record, kGap being the last kind.)
        if (!t.waiting) {
          t.period_known = false;
          t.forget_bracket_start();
        }
        return;
      case Kind::kEnter:
      case Kind::kExit:
        break;
    }
    // The loop's own fd (loop_wait.h): a nested loop waits on another fd inside a busy period of
    // the outer loop, which those waits must not end.
    switch (t.wait.see(static_cast<int>(e.value), e.frame, e.kind == Kind::kEnter)) {
      case LoopWait::Seen::kOwn:
        break;
      case LoopWait::Seen::kOther:
        return;
      case LoopWait::Seen::kOuter:
        outer_loop_found(t);
        break;
    }
    bool first = !t.transitioned;
    t.transitioned = true;
    if (e.kind == Kind::kExit) {
      if (t.waiting || first) {
        // A first exit while /proc said busy: the thread was in its poll, the time so far a wait.
        t.wait_ns += static_cast<int64_t>(time - t.last_change);
      }
      // Else an enter was lost: [last_change, time] mixes busy and wait, so it is no busy period
      // (it still counts as not waiting).
      t.period_samples.clear();
      t.forget_bracket_start();
      t.period_truncated = e.time < t.since;  // it began before the recording: cut by the clamp
      t.period_known = true;
      t.waiting = false;
      t.last_change = time;
    } else {
      t.iterations++;
      if (!t.waiting) {
        close_busy(t, time, false);
      } else if (first) {
        // /proc said waiting but the thread was busy: the time so far was a truncated busy period.
        t.period_truncated = true;
        close_busy(t, time, false);
      } else {
        // An exit was lost: the interval counts as the wait it began as.
        t.wait_ns += static_cast<int64_t>(time - t.last_change);
      }
      t.waiting = true;
      t.last_change = time;
    }
  }

  // The fd followed so far was a nested loop's: the outer loop was busy all along, from the start
  // (or before it) to this enter. What was measured on the nested fd is dropped, and so are the
  // samples of the current period: those before it were spread over the nested loop's periods, so
  // the first (truncated) busy period says it has no samples rather than show a part of them.
  void outer_loop_found(ThreadState& t) {
    ThreadState fresh;
    fresh.tid = t.tid;
    fresh.since = t.since;
    fresh.last_event = t.last_event;
    fresh.wait = t.wait;  // already the outer loop's
    fresh.waiting = false;
    fresh.transitioned = true;
    fresh.last_change = t.since;
    fresh.period_truncated = true;
    fresh.brackets = std::move(t.brackets);  // whole periods of the nested loop: still one phase each
    t = std::move(fresh);
  }

  void close(ThreadState& t, uint64_t end_time) {
    end_time = std::max(end_time, t.since);
    end_time = std::max(end_time, t.last_change);
    if (t.waiting)
      t.wait_ns += static_cast<int64_t>(end_time - t.last_change);
    else
      close_busy(t, end_time, true);
    t.last_change = end_time;
    t.end = end_time;
    t.ended = true;
  }
};

LoopHealthTracker::LoopHealthTracker(uint64_t start_ns, int64_t stall_threshold_ns, int64_t reorder_window_ns)
    : impl_(std::make_shared<Impl>()) {
  impl_->start = start_ns;
  impl_->threshold = stall_threshold_ns;
  impl_->window = std::max<int64_t>(0, reorder_window_ns);
}

void LoopHealthTracker::add_thread(pid_t tid, bool initially_waiting, int loop_epfd, uint64_t since_ns,
                                   uint64_t loop_frame) {
  std::lock_guard lock(impl_->mu);
  if (impl_->find(tid)) return;
  ThreadState t;
  t.tid = tid;
  t.wait = LoopWait(loop_epfd, loop_frame);
  t.waiting = initially_waiting;
  t.since = std::max(since_ns, impl_->start);
  t.last_change = t.since;
  t.period_truncated = !initially_waiting;
  impl_->index[tid] = impl_->threads.size();
  impl_->threads.push_back(std::move(t));
}

bool LoopHealthTracker::follows(pid_t tid) const {
  std::lock_guard lock(impl_->mu);
  return impl_->index.count(tid) != 0;
}

void LoopHealthTracker::end_thread(pid_t tid, uint64_t time_ns) {
  std::lock_guard lock(impl_->mu);
  impl_->push(Event{time_ns, 0, 0, 0, tid, Kind::kEnd});
}

void LoopHealthTracker::poll_enter(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame) {
  std::lock_guard lock(impl_->mu);
  impl_->push(Event{time_ns, 0, 0, epfd, tid, Kind::kEnter, frame});
}

void LoopHealthTracker::poll_exit(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame) {
  std::lock_guard lock(impl_->mu);
  impl_->push(Event{time_ns, 0, 0, epfd, tid, Kind::kExit, frame});
}

void LoopHealthTracker::poll_gap(pid_t tid, uint64_t time_ns) {
  std::lock_guard lock(impl_->mu);
  impl_->push(Event{time_ns, 0, 0, 0, tid, Kind::kGap});
}

void LoopHealthTracker::sample(pid_t tid, uint64_t time_ns, uint32_t stack_index, uint64_t weight, bool cut_short) {
  std::lock_guard lock(impl_->mu);
  Event e{time_ns, 0, weight, stack_index, tid, Kind::kSample};
  e.cut_short = cut_short;
  impl_->push(e);
}

void LoopHealthTracker::sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns) {
  std::lock_guard lock(impl_->mu);
  ThreadState* t = impl_->find(tid);
  if (!t) return;
  (t->sched_first ? t->sched_last : t->sched_first) = std::make_pair(cpu_ns, run_delay_ns);
}

void LoopHealthTracker::flush(uint64_t now_ns) {
  std::lock_guard lock(impl_->mu);
  if (now_ns > static_cast<uint64_t>(impl_->window)) impl_->process_before(now_ns - static_cast<uint64_t>(impl_->window));
}

void LoopHealthTracker::remap_stacks(const std::vector<uint32_t>& old_to_new) {
  std::lock_guard lock(impl_->mu);
  auto remap = [&](int64_t i) -> int64_t {
    return i >= 0 && static_cast<size_t>(i) < old_to_new.size() ? old_to_new[static_cast<size_t>(i)] : i;
  };
  for (auto& e : impl_->heap)  // the key (time, seq) is unchanged: still a heap
    if (e.kind == Kind::kSample) e.value = remap(e.value);
  for (auto& t : impl_->threads) {
    std::map<uint32_t, uint64_t> merged;  // two stacks may have become one
    for (const auto& [stack, weight] : t.period_samples) merged[static_cast<uint32_t>(remap(stack))] += weight;
    t.period_samples = std::move(merged);
    for (auto& st : t.stalls) st.heaviest_stack = remap(st.heaviest_stack);
    t.last_whole = remap(t.last_whole);
    for (auto& c : t.waiting_cut) c.first = static_cast<uint32_t>(remap(c.first));
    std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> brackets;
    for (const auto& [k, w] : t.brackets) {
      auto r = [&](uint32_t i) { return i == PhaseBracket::kPeriodStart ? i : static_cast<uint32_t>(remap(i)); };
      brackets[{r(std::get<0>(k)), r(std::get<1>(k)), r(std::get<2>(k))}] += w;
    }
    t.brackets = std::move(brackets);
  }
}

size_t LoopHealthTracker::buffered() const {
  std::lock_guard lock(impl_->mu);
  return impl_->heap.size();
}

uint64_t LoopHealthTracker::late_events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->late;
}

std::vector<LoopHealth> LoopHealthTracker::finish(uint64_t end_ns) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  if (!m.finished) {
    m.process_before(end_ns + 1);
    m.heap.clear();  // events after the end of the recording
    for (auto& t : m.threads)
      if (!t.ended) m.close(t, end_ns);
    m.finished = true;
  }
  std::vector<LoopHealth> out;
  for (const auto& t : m.threads) {
    LoopHealth h;
    h.tid = t.tid;
    h.observed_ns = static_cast<int64_t>(t.end - t.since);
    h.wait_ns = std::min(t.wait_ns, h.observed_ns);
    h.iterations = t.iterations;
    h.utilization = h.observed_ns > 0 ? 1.0 - static_cast<double>(h.wait_ns) / static_cast<double>(h.observed_ns) : 0;
    h.iterations_per_sec = h.observed_ns > 0 ? static_cast<double>(t.iterations) * 1e9 / static_cast<double>(h.observed_ns) : 0;
    h.busy_count = t.busy.count();
    h.busy_p50_ms = static_cast<double>(t.busy.percentile(0.50)) / 1e6;
    h.busy_p99_ms = static_cast<double>(t.busy.percentile(0.99)) / 1e6;
    h.busy_max_ms = static_cast<double>(t.busy.max()) / 1e6;
    h.stall_threshold_ns = m.threshold;
    h.stall_count = t.stall_count;
    if (t.sched_first && t.sched_last && t.sched_last->first >= t.sched_first->first &&
        t.sched_last->second >= t.sched_first->second) {
      h.cpu_ns = static_cast<int64_t>(t.sched_last->first - t.sched_first->first);
      h.runnable_ns = static_cast<int64_t>(t.sched_last->second - t.sched_first->second);
    }
    h.stalls = t.stalls;
    for (const auto& [k, w] : t.brackets)
      h.brackets.push_back(PhaseBracket{std::get<0>(k), std::get<1>(k), std::get<2>(k), w});
    std::sort(h.stalls.begin(), h.stalls.end(), [](const Stall& a, const Stall& b) {
      return a.duration_ns != b.duration_ns ? a.duration_ns > b.duration_ns : a.start_ns < b.start_ns;
    });
    out.push_back(std::move(h));
  }
  return out;
}

// ---- metadata ----

namespace {

constexpr std::string_view kPrefix = "loop.";

// Shortest text that reads back as the value rounded to `digits` decimals (locale-independent).
std::string num(double v, int digits) {
  double scale = std::pow(10.0, digits);
  v = std::round(v * scale) / scale;
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

std::string ms(int64_t ns) { return num(static_cast<double>(ns) / 1e6, 3); }

template <typename T>
bool parse(std::string_view s, T& out) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return false;
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(v)) return false;
  out = v;
  return true;
}

int64_t ms_to_ns(double v) { return static_cast<int64_t>(std::llround(v * 1e6)); }

}  // namespace

void store_loop_health(profile::Profile& p, const std::vector<LoopHealth>& health) {
  std::erase_if(p.metadata, [](const auto& kv) { return kv.first.starts_with(kPrefix); });
  for (const auto& h : health) {
    std::string k = std::string(kPrefix) + std::to_string(h.tid) + ".";
    auto put = [&](const std::string& key, std::string value) { p.metadata.emplace_back(k + key, std::move(value)); };
    put("utilization", num(h.utilization, 6));
    put("iterations_per_sec", num(h.iterations_per_sec, 3));
    put("iterations", std::to_string(h.iterations));
    put("observed_ms", ms(h.observed_ns));
    put("busy_count", std::to_string(h.busy_count));
    put("busy_p50_ms", num(h.busy_p50_ms, 3));
    put("busy_p99_ms", num(h.busy_p99_ms, 3));
    put("busy_max_ms", num(h.busy_max_ms, 3));
    put("stall_threshold_ms", ms(h.stall_threshold_ns));
    put("stall_count", std::to_string(h.stall_count));
    if (h.cpu_ns >= 0) put("cpu_ms", ms(h.cpu_ns));
    if (h.runnable_ns >= 0) put("runnable_ms", ms(h.runnable_ns));
    for (size_t n = 0; n < h.stalls.size(); n++) {
      const Stall& s = h.stalls[n];
      std::string sk = "stall." + std::to_string(n) + ".";
      put(sk + "start_ms", ms(s.start_ns));
      put(sk + "duration_ms", ms(s.duration_ns));
      put(sk + "phase", s.phase);
      put(sk + "summary", s.summary);
      if (s.truncated) put(sk + "truncated", "1");
    }
  }
}

std::vector<LoopHealth> read_loop_health(const profile::Profile& p) {
  struct Partial {
    LoopHealth h;
    bool any = false, has_stall_count = false;
    double observed_ms = -1, utilization = -1;
    std::map<uint64_t, std::pair<Stall, bool>> stalls;  // n -> stall, has a valid duration
  };
  std::vector<Partial> parts;
  std::map<int64_t, size_t> index;
  for (const auto& [key, value] : p.metadata) {
    std::string_view k = key;
    if (!k.starts_with(kPrefix)) continue;
    k.remove_prefix(kPrefix.size());
    size_t dot = k.find('.');
    int64_t tid = 0;
    if (dot == std::string_view::npos || !parse(k.substr(0, dot), tid) || tid <= 0) continue;
    std::string_view field = k.substr(dot + 1);
    auto [it, inserted] = index.emplace(tid, parts.size());
    if (inserted) parts.emplace_back().h.tid = tid;
    Partial& part = parts[it->second];
    LoopHealth& h = part.h;
    double d = 0;
    uint64_t u = 0;
    bool ok = false;
    if (field.starts_with("stall.")) {
      field.remove_prefix(6);
      size_t dot2 = field.find('.');
      uint64_t n = 0;
      if (dot2 == std::string_view::npos || !parse(field.substr(0, dot2), n)) continue;
      std::string_view sf = field.substr(dot2 + 1);
      auto& [s, has_duration] = part.stalls[n];
      if (sf == "start_ms") {
        if ((ok = parse(value, d))) s.start_ns = ms_to_ns(d);
      } else if (sf == "duration_ms") {
        if ((ok = parse(value, d) && d >= 0)) s.duration_ns = ms_to_ns(d);
        has_duration = ok;
      } else if (sf == "phase") {
        s.phase = value;
      } else if (sf == "summary") {
        s.summary = value;
      } else if (sf == "truncated") {
        s.truncated = value == "1";
      }
    } else if (field == "utilization") {
      if ((ok = parse(value, d))) h.utilization = part.utilization = std::clamp(d, 0.0, 1.0);
    } else if (field == "iterations_per_sec") {
      if ((ok = parse(value, d))) h.iterations_per_sec = d;
    } else if (field == "iterations") {
      if ((ok = parse(value, u))) h.iterations = u;
    } else if (field == "observed_ms") {
      if ((ok = parse(value, d) && d >= 0)) h.observed_ns = ms_to_ns(part.observed_ms = d);
    } else if (field == "busy_count") {
      if ((ok = parse(value, u))) h.busy_count = u;
    } else if (field == "busy_p50_ms") {
      if ((ok = parse(value, d))) h.busy_p50_ms = d;
    } else if (field == "busy_p99_ms") {
      if ((ok = parse(value, d))) h.busy_p99_ms = d;
    } else if (field == "busy_max_ms") {
      if ((ok = parse(value, d))) h.busy_max_ms = d;
    } else if (field == "stall_threshold_ms") {
      if ((ok = parse(value, d) && d >= 0)) h.stall_threshold_ns = ms_to_ns(d);
    } else if (field == "stall_count") {
      if ((ok = parse(value, u))) h.stall_count = u;
      part.has_stall_count = ok;
    } else if (field == "cpu_ms") {
      if ((ok = parse(value, d) && d >= 0)) h.cpu_ns = ms_to_ns(d);
    } else if (field == "runnable_ms") {
      if ((ok = parse(value, d) && d >= 0)) h.runnable_ns = ms_to_ns(d);
    }
    part.any |= ok;
  }
  std::vector<LoopHealth> out;
  for (auto& part : parts) {
    for (auto& [n, entry] : part.stalls)
      if (entry.second && part.h.stalls.size() < LoopHealthTracker::kMaxStalls) {
        part.h.stalls.push_back(std::move(entry.first));
        part.any = true;
      }
    if (!part.any) continue;
    if (part.observed_ms >= 0 && part.utilization >= 0)
      part.h.wait_ns = std::llround((1.0 - part.utilization) * static_cast<double>(part.h.observed_ns));
    if (!part.has_stall_count) part.h.stall_count = part.h.stalls.size();
    out.push_back(std::move(part.h));
  }
  return out;
}

}  // namespace loopperf::loop
