// StallDetector (watch's trigger) and LoopWait (which epoll waits are the loop's own) on synthetic
// tracepoint sequences.
#include <catch2/catch.hpp>

#include "loopperf/loop/loop_wait.h"
#include "loopperf/loop/stall_detector.h"

using namespace loopperf;
using loop::LoopWait;
using loop::StallDetector;

namespace {
constexpr uint64_t kT0 = 5'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr int64_t kStall = 200 * kMs;
constexpr pid_t kMain = 100, kPool = 101;
constexpr int kEpfd = 9, kNestedFd = 21;
constexpr uint64_t kLoopFrame = 0x7ffc'0000'8000, kNestedFrame = kLoopFrame - 0x5000;  // deeper: lower address
}  // namespace

TEST_CASE("a loop out of its poll wait past the threshold is stuck, from when it left it, until it waits again") {
  StallDetector d(kStall);
  d.add_thread(kMain, true, kEpfd, kLoopFrame, kT0);  // found waiting
  d.add_thread(kPool, false, -1, 0, kT0);             // a thread-pool thread: never polls, never a loop
  CHECK(d.loops() == std::vector<pid_t>{kMain});
  CHECK(d.stuck(kT0 + 10'000 * kMs).empty());  // waiting: idle is not a stall
  d.poll_exit(kMain, kT0 + 1000 * kMs, kEpfd, kLoopFrame);
  CHECK(d.busy_since(kMain) == kT0 + 1000 * kMs);
  CHECK(d.stuck(kT0 + 1200 * kMs).empty());  // exactly the threshold: not yet
  auto s = d.stuck(kT0 + 1201 * kMs);
  REQUIRE(s.size() == 1);
  CHECK(s[0] == StallDetector::Busy{kMain, kT0 + 1000 * kMs});
  CHECK_FALSE(d.period_end(kMain, kT0 + 1000 * kMs));
  d.poll_enter(kMain, kT0 + 1500 * kMs, kEpfd, kLoopFrame);
  CHECK(d.stuck(kT0 + 5000 * kMs).empty());
  CHECK(d.period_end(kMain, kT0 + 1000 * kMs) == kT0 + 1500 * kMs);
  CHECK(d.waiting_since(kMain) == kT0 + 1500 * kMs);
  CHECK_FALSE(d.busy_since(kMain));
}

TEST_CASE("a nested loop's waits (execSync) do not end the stall, a thread busy when found is stuck from then") {
  StallDetector d(kStall);
  // node's main thread found busy: a loop all the same, busy since it was found.
  d.add_thread(kMain, true, -1, 0, kT0);
  d.poll_enter(kMain, kT0 + 10 * kMs, kEpfd, kLoopFrame);  // its own wait: taken as the loop's
  d.poll_exit(kMain, kT0 + 20 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 30 * kMs, kNestedFd, kNestedFrame);  // spawnSync's loop, deeper in the stack
  d.poll_exit(kMain, kT0 + 330 * kMs, kNestedFd, kNestedFrame);
  auto s = d.stuck(kT0 + 331 * kMs);
  REQUIRE(s.size() == 1);
  CHECK(s[0].since_ns == kT0 + 20 * kMs);
  d.poll_enter(kMain, kT0 + 340 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 20 * kMs) == kT0 + 340 * kMs);

  // Busy when found, no event yet: stuck from when it was found.
  StallDetector e(kStall);
  e.add_thread(kMain, true, -1, 0, kT0);
  CHECK(e.stuck(kT0 + 250 * kMs).size() == 1);
  // A thread not known to be a loop is never stuck, however long it runs.
  e.add_thread(kPool, false, -1, 0, kT0);
  for (const auto& b : e.stuck(kT0 + 10'000 * kMs)) CHECK(b.tid != kPool);
  e.end_thread(kMain);
  CHECK(e.stuck(kT0 + 10'000 * kMs).empty());
}

TEST_CASE("period_end: several turns since the stall ended are bounded by the latest wait, stale events are ignored") {
  StallDetector d(kStall);
  d.add_thread(kMain, true, kEpfd, kLoopFrame, kT0);
  d.poll_exit(kMain, kT0 + 100 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 500 * kMs, kEpfd, kLoopFrame);  // the stall's end
  d.poll_exit(kMain, kT0 + 501 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 100 * kMs) == kT0 + 500 * kMs);  // the last closed period was it
  d.poll_enter(kMain, kT0 + 502 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 100 * kMs) == kT0 + 502 * kMs);  // a later wait bounds it
  d.poll_exit(kMain, kT0 + 400 * kMs, kEpfd, kLoopFrame);  // older than what was seen: dropped
  CHECK_FALSE(d.busy_since(kMain));
}

TEST_CASE("LoopWait: the given fd, or the first seen, a shallower enter on another fd shows it was a nested loop's") {
  LoopWait given(kEpfd, kLoopFrame);
  CHECK(given.see(kEpfd, kLoopFrame, true) == LoopWait::Seen::kOwn);
  CHECK(given.see(kNestedFd, kNestedFrame, true) == LoopWait::Seen::kOther);
  CHECK(given.see(kNestedFd, kNestedFrame, false) == LoopWait::Seen::kOther);

  LoopWait first;  // found inside an execSync: the nested fd is taken first
  CHECK(first.see(kNestedFd, kNestedFrame, false) == LoopWait::Seen::kOwn);
  CHECK(first.see(kNestedFd, kNestedFrame, true) == LoopWait::Seen::kOwn);
  CHECK(first.see(kEpfd, kLoopFrame, false) == LoopWait::Seen::kOther);  // an exit does not decide
  CHECK(first.see(kEpfd, kNestedFrame + LoopWait::kNestedGap, true) == LoopWait::Seen::kOther);  // not shallower enough
  CHECK(first.see(kEpfd, kLoopFrame, true) == LoopWait::Seen::kOuter);
  CHECK(first.epfd() == kEpfd);
  CHECK(first.frame() == kLoopFrame);
  CHECK(first.see(kNestedFd, kNestedFrame, true) == LoopWait::Seen::kOther);
}

TEST_CASE("an exit whose enter was not seen ends the wait: records lost under load, or a wait begun before tracing") {
  // Seen in CI: a burst of requests filled the poll tracer's ring, the enter of the wait after the
  // burst was dropped, and the stall's exit came with no fd (the tracer knows an exit's fd from
  // its enter). Ignored as another fd's, it left the loop "waiting" through the whole stall.
  StallDetector d(kStall);
  d.add_thread(kMain, true, kEpfd, kLoopFrame, kT0);  // found waiting: the tracer saw no enter either
  d.poll_exit(kMain, kT0 + 100 * kMs, -1, 0);
  CHECK(d.busy_since(kMain) == kT0 + 100 * kMs);
  d.poll_enter(kMain, kT0 + 101 * kMs, kEpfd, kLoopFrame);
  d.poll_exit(kMain, kT0 + 150 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 151 * kMs, kEpfd, kLoopFrame);  // then records lost: an exit and this enter
  d.poll_exit(kMain, kT0 + 300 * kMs, -1, 0);             // the stall begins
  auto s = d.stuck(kT0 + 600 * kMs);
  REQUIRE(s.size() == 1);
  CHECK(s[0].since_ns == kT0 + 300 * kMs);
  d.poll_enter(kMain, kT0 + 700 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 300 * kMs) == kT0 + 700 * kMs);
  // Inside an execSync (busy already), an exit of unknown fd changes nothing.
  d.poll_exit(kMain, kT0 + 800 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 810 * kMs, kNestedFd, kNestedFrame);
  d.poll_exit(kMain, kT0 + 900 * kMs, -1, 0);
  CHECK(d.busy_since(kMain) == kT0 + 800 * kMs);
  CHECK(LoopWait(kEpfd, kLoopFrame).see(-1, 0, false) == LoopWait::Seen::kOwn);
}

TEST_CASE("a loop believed waiting but seen running, or entering a nested loop's wait, lost its exit: busy from then") {
  StallDetector d(kStall);
  d.add_thread(kMain, true, kEpfd, kLoopFrame, kT0);
  d.poll_exit(kMain, kT0 + 90 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 100 * kMs, kEpfd, kLoopFrame);
  // A sample as it wakes up, right after its last event, is no sign.
  d.on_cpu(kMain, kT0 + 100 * kMs + 500'000);
  CHECK(d.waiting_since(kMain) == kT0 + 100 * kMs);
  // The stall's exit was dropped with other records; its cpu samples show it running.
  d.on_cpu(kMain, kT0 + 320 * kMs);
  CHECK(d.busy_since(kMain) == kT0 + 320 * kMs);
  REQUIRE(d.stuck(kT0 + 521 * kMs).size() == 1);
  d.on_cpu(kMain, kT0 + 340 * kMs);  // later samples of the same stall change nothing
  CHECK(d.busy_since(kMain) == kT0 + 320 * kMs);
  d.poll_enter(kMain, kT0 + 700 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 320 * kMs) == kT0 + 700 * kMs);
  // An off-CPU stall (execSync) whose exit was dropped: the nested loop's enter shows it.
  d.poll_enter(kMain, kT0 + 900 * kMs, kNestedFd, kNestedFrame);
  CHECK(d.busy_since(kMain) == kT0 + 900 * kMs);
  // A thread that is no loop is left alone.
  d.add_thread(kPool, false, -1, 0, kT0);
  d.on_cpu(kPool, kT0 + 950 * kMs);
  CHECK_FALSE(d.busy_since(kPool));
}

TEST_CASE("a gap in the poll records (a ring that filled up) is no stall, a cpu sample after it, with no record, is") {
  StallDetector d(kStall);
  d.add_thread(kMain, true, kEpfd, kLoopFrame, kT0);
  // Under load the loop turns thousands of times a second; its ring fills after this exit, and
  // loopperf drains it 300 ms later: the last record read says busy since 100 ms.
  d.poll_exit(kMain, kT0 + 100 * kMs, kEpfd, kLoopFrame);
  d.gap(kMain, kT0 + 100 * kMs, kT0 + 400 * kMs);
  CHECK(d.stuck(kT0 + 400 * kMs).empty());  // before: stuck since 100 ms, a false 300 ms stall
  CHECK_FALSE(d.busy_since(kMain));
  CHECK(d.period_end(kMain, kT0 + 100 * kMs) == kT0 + 100 * kMs);  // its end is not known: no longer than seen
  // Samples from the gap show the loop running between waits whose records are gone: no sign.
  d.on_cpu(kMain, kT0 + 250 * kMs);
  d.on_cpu(kMain, kT0 + 400 * kMs + 500'000);
  CHECK(d.stuck(kT0 + 700 * kMs).empty());
  // The records resume: the loop's turns are seen again.
  d.poll_exit(kMain, kT0 + 402 * kMs, kEpfd, kLoopFrame);
  d.poll_enter(kMain, kT0 + 403 * kMs, kEpfd, kLoopFrame);
  CHECK(d.waiting_since(kMain) == kT0 + 403 * kMs);
  // A second gap, and a stall that begins in it (its exit lost): its cpu samples after the gap
  // show it, from the first one.
  d.gap(kMain, kT0 + 403 * kMs, kT0 + 800 * kMs);
  d.on_cpu(kMain, kT0 + 700 * kMs);
  CHECK(d.stuck(kT0 + 1200 * kMs).empty());
  d.on_cpu(kMain, kT0 + 820 * kMs);
  CHECK(d.busy_since(kMain) == kT0 + 820 * kMs);
  auto s = d.stuck(kT0 + 1021 * kMs);
  REQUIRE(s.size() == 1);
  CHECK(s[0].since_ns == kT0 + 820 * kMs);
  d.poll_enter(kMain, kT0 + 1300 * kMs, kEpfd, kLoopFrame);
  CHECK(d.period_end(kMain, kT0 + 820 * kMs) == kT0 + 1300 * kMs);
  CHECK(d.stuck(kT0 + 2000 * kMs).empty());
}
