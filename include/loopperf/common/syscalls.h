// The x86-64 system calls loopperf meets in a target's stacks and /proc/PID/task/TID/syscall:
// names for labels, and the numbers of the waits an event loop blocks in. One table, so that the
// numbers are spelled once.
#pragma once

#include <string>

namespace loopperf {

inline constexpr long kSysEpollWait = 232;
inline constexpr long kSysEpollPwait = 281;
inline constexpr long kSysEpollPwait2 = 441;

// epoll_wait, epoll_pwait or epoll_pwait2: the waits libuv's poll phase blocks in.
inline bool is_epoll_wait(long nr) { return nr == kSysEpollWait || nr == kSysEpollPwait || nr == kSysEpollPwait2; }

// "epoll_pwait", "read", "futex" ... for the numbers above and others loopperf meets; "syscall N" otherwise.
std::string syscall_name(long nr);

}  // namespace loopperf
