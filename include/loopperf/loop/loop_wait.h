// Which of a thread's epoll waits is its event loop's own, shared by loop health (health.h, after
// the fact) and the stall detector (stall_detector.h, as it happens).
//
// A nested loop (spawnSync and execSync run one inside a callback) waits on another fd, with its
// events buffer deeper in the same stack, below the outer uv__io_poll's 12 KiB one: its waits are
// part of a busy period of the outer loop and must not end it. The loop's fd is given (read from
// /proc/PID/task/TID/syscall while the thread waited in it) or taken from the first wait seen; when
// the fd taken first was a nested one (the thread was inside an execSync when following began), the
// first enter on an fd whose buffer is shallower by more than kNestedGap is the outer loop's.
#pragma once

#include <cstdint>

namespace loopperf::loop {

class LoopWait {
 public:
  static constexpr uint64_t kNestedGap = 4096;
  enum class Seen {
    kOwn,    // the loop's own wait
    kOther,  // another fd's (a nested loop's): not the loop's
    kOuter,  // an enter that shows the fd followed so far was a nested loop's: this one is the loop's now
  };

  LoopWait() = default;
  // `frame`: the events buffer of that wait (0 when unknown).
  LoopWait(int epfd, uint64_t frame) : epfd_(epfd), frame_(epfd >= 0 ? frame : 0) {}

  // `epfd` < 0 on an exit: its enter was not seen (the wait began before tracing did, or the
  // kernel dropped the record). The thread left the wait it was in: if that was the loop's own, the
  // loop is busy now; if a nested one, it was busy already. Either way the followed wait's exit
  // (ignoring it kept a stall's start unseen until the stall was over).
  Seen see(int epfd, uint64_t frame, bool enter) {
    if (!enter && epfd < 0) return Seen::kOwn;
    if (epfd_ < 0) epfd_ = epfd;
    if (!frame_ && epfd == epfd_) frame_ = frame;
    if (epfd == epfd_) return Seen::kOwn;
    if (!enter || !frame_ || frame <= frame_ + kNestedGap) return Seen::kOther;
    epfd_ = epfd;
    frame_ = frame;
    return Seen::kOuter;
  }
  int epfd() const { return epfd_; }
  uint64_t frame() const { return frame_; }

 private:
  int epfd_ = -1;
  uint64_t frame_ = 0;  // the events buffer of the loop's own wait (0: not known yet)
};

}  // namespace loopperf::loop
