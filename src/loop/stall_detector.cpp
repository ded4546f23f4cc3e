#include "loopperf/loop/stall_detector.h"

#include <algorithm>

namespace loopperf::loop {

void StallDetector::add_thread(pid_t tid, bool is_loop, int loop_epfd, uint64_t loop_frame, uint64_t now_ns) {
  if (threads_.count(tid)) return;
  Thread t;
  t.wait = LoopWait(loop_epfd, loop_frame);
  t.waiting = loop_epfd >= 0;
  t.loop = is_loop || t.waiting;
  t.since = now_ns;
  threads_.emplace(tid, t);
}

void StallDetector::end_thread(pid_t tid) { threads_.erase(tid); }

void StallDetector::poll_enter(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame) {
  event(tid, time_ns, epfd, frame, true);
}

void StallDetector::poll_exit(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame) {
  event(tid, time_ns, epfd, frame, false);
}

void StallDetector::event(pid_t tid, uint64_t time_ns, int epfd, uint64_t frame, bool enter) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  Thread& t = it->second;
  // One thread's events come from one ring, in order; this guards a replayed or merged stream.
  if (time_ns < t.last) return;
  t.last = time_ns;
  switch (t.wait.see(epfd, frame, enter)) {
    case LoopWait::Seen::kOther:
      // A nested loop's wait (execSync): the loop stays busy. Entered while the loop was believed
      // to wait in its own, it shows that wait's exit was lost: busy from here.
      if (enter && t.loop && t.waiting) {
        t.waiting = false;
        t.since = time_ns;
      }
      return;
    case LoopWait::Seen::kOuter:
      // The fd followed so far was a nested loop's: the loop was busy all along, since it was found.
      break;
    case LoopWait::Seen::kOwn:
      break;
  }
  t.loop = true;
  if (enter) {
    if (!t.waiting) {
      t.wait_since = time_ns;
      t.prev_since = t.since;
      t.prev_end = time_ns;
    }
    t.waiting = true;
  } else if (t.waiting) {
    t.waiting = false;
    t.since = time_ns;
  }
}

void StallDetector::on_cpu(pid_t tid, uint64_t time_ns) {
  // Well after the last event: a sample taken while the thread woke up from its wait, just before
  // the exit's record, is no sign of a lost exit.
  constexpr uint64_t kEdgeNs = 1'000'000;
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  Thread& t = it->second;
  if (!t.loop || !t.waiting || time_ns <= t.last + kEdgeNs || time_ns <= t.gap_until + kEdgeNs) return;
  t.waiting = false;
  t.since = time_ns;
}

void StallDetector::gap(pid_t tid, uint64_t time_ns, uint64_t until_ns) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  Thread& t = it->second;
  t.gap_until = std::max(t.gap_until, until_ns);
  t.last = std::max(t.last, time_ns);
  if (!t.loop) return;
  // Counted as waiting from its last record: not stuck, and the only way back to busy without a
  // record is a cpu sample after the gap (on_cpu).
  if (!t.waiting) {
    t.prev_since = t.since;
    t.prev_end = std::max(time_ns, t.since);
    t.wait_since = t.prev_end;
  }
  t.waiting = true;
}

std::vector<StallDetector::Busy> StallDetector::stuck(uint64_t now_ns) const {
  std::vector<Busy> out;
  for (const auto& [tid, t] : threads_)
    if (t.loop && !t.waiting && now_ns > t.since && static_cast<int64_t>(now_ns - t.since) > threshold_)
      out.push_back(Busy{tid, t.since});
  std::sort(out.begin(), out.end(), [](const Busy& a, const Busy& b) { return a.since_ns < b.since_ns; });
  return out;
}

std::optional<uint64_t> StallDetector::busy_since(pid_t tid) const {
  auto it = threads_.find(tid);
  if (it == threads_.end() || !it->second.loop || it->second.waiting) return std::nullopt;
  return it->second.since;
}

std::optional<uint64_t> StallDetector::period_end(pid_t tid, uint64_t since) const {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return std::nullopt;
  const Thread& t = it->second;
  if (!t.waiting && t.since == since) return std::nullopt;  // still the same busy period
  if (t.prev_since == since) return t.prev_end;
  // Several periods ended since (a step is tens of ms): the first wait after `since` was not kept;
  // the latest one bounds it.
  return t.waiting ? t.wait_since : t.prev_end;
}

std::optional<uint64_t> StallDetector::waiting_since(pid_t tid) const {
  auto it = threads_.find(tid);
  if (it == threads_.end() || !it->second.loop || !it->second.waiting) return std::nullopt;
  return it->second.wait_since;
}

std::optional<LoopWait> StallDetector::loop_wait(pid_t tid) const {
  auto it = threads_.find(tid);
  if (it == threads_.end() || !it->second.loop) return std::nullopt;
  return it->second.wait;
}

std::vector<pid_t> StallDetector::loops() const {
  std::vector<pid_t> out;
  for (const auto& [tid, t] : threads_)
    if (t.loop) out.push_back(tid);
  return out;
}

}  // namespace loopperf::loop
