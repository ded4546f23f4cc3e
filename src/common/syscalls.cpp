#include "loopperf/common/syscalls.h"

#include <utility>

namespace loopperf {

std::string syscall_name(long nr) {
  // clang-format off
  static const std::pair<long, const char*> kNames[] = {
      {0, "read"},         {1, "write"},          {3, "close"},          {7, "poll"},
      {17, "pread64"},     {18, "pwrite64"},      {19, "readv"},         {20, "writev"},
      {23, "select"},      {34, "pause"},  {35, "nanosleep"},     {42, "connect"},       {43, "accept"},
      {44, "sendto"},      {45, "recvfrom"},      {46, "sendmsg"},       {47, "recvmsg"},
      {61, "wait4"},       {74, "fsync"},         {202, "futex"},        {230, "clock_nanosleep"},
      {kSysEpollWait, "epoll_wait"}, {247, "waitid"}, {257, "openat"},   {262, "newfstatat"},
      {270, "pselect6"},   {271, "ppoll"},        {kSysEpollPwait, "epoll_pwait"}, {288, "accept4"},
      {425, "io_uring_enter"}, {kSysEpollPwait2, "epoll_pwait2"},
  };
  // clang-format on
  for (const auto& [n, name] : kNames)
    if (n == nr) return name;
  return "syscall " + std::to_string(nr);
}

}  // namespace loopperf
