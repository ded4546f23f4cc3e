#include "loopperf/common/mapped_read.h"

#include <setjmp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace loopperf {

namespace {

// The jump target of the guarded read running on this thread, if any. Set and cleared around the
// read with signal fences: to the compiler the handler is invisible, and without them it dropped
// the store as dead (the handler then saw no guard and the process died of the SIGBUS).
thread_local sigjmp_buf* volatile t_guard = nullptr;

void arm(sigjmp_buf* buf) {
  t_guard = buf;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
void disarm() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_guard = nullptr;
}

void on_sigbus(int, siginfo_t* info, void*) {
  // A fault of our own read (not a SIGBUS sent by kill or tgkill, whose si_code is <= 0).
  if (sigjmp_buf* guard = t_guard; guard != nullptr && info != nullptr && info->si_code > 0) {
    t_guard = nullptr;
    siglongjmp(*guard, 1);
  }
  // Anything else gets the default action: re-raised for a sent signal, and for a fault by
  // returning, which repeats the faulting access.
  ::signal(SIGBUS, SIG_DFL);
  if (info == nullptr || info->si_code <= 0) ::raise(SIGBUS);
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    // SA_NODEFER: the jump leaves the handler without restoring the signal mask (sigsetjmp(.., 0)
    // saves none: no system call per read), so SIGBUS must not be blocked while it runs.
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace

bool mapped_copy(void* dst, const void* src, size_t n) {
  install_handler();
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) return false;
  arm(&buf);
  std::memcpy(dst, src, n);
  disarm();
  return true;
}

namespace {

// Copies the bytes at src into chunk until a '\0' (*terminated), `room` bytes or a page that is gone
// (-1). Byte by byte: the bytes after the terminator may be past the end of the mapping. Nothing
// here is live across sigsetjmp, so nothing can be clobbered by the jump back.
__attribute__((noinline)) long guarded_scan(const char* src, char* chunk, size_t room, bool* terminated) {
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) return -1;
  arm(&buf);
  size_t n = 0;
  *terminated = false;
  while (n < room) {
    const char c = src[n];
    if (c == '\0') {
      *terminated = true;
      break;
    }
    chunk[n++] = c;
  }
  disarm();
  return static_cast<long>(n);
}

}  // namespace

namespace {
// 1: equal, 0: different, -1: a page is gone. As guarded_scan: nothing live across sigsetjmp.
__attribute__((noinline)) int guarded_equals(const char* src, const char* want, size_t n) {
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) return -1;
  arm(&buf);
  size_t i = 0;
  while (i < n && src[i] == want[i]) i++;
  const bool equal = i == n && src[n] == '\0';
  disarm();
  return equal ? 1 : 0;
}
// The index of the first of `wants` equal to the string at src, -1 for none, -2 when a page is gone:
// one guard for all of them (a symbol scan compares ~260k names against a handful).
__attribute__((noinline)) int guarded_match(const char* src, const std::string* wants, size_t count) {
  sigjmp_buf buf;
  if (sigsetjmp(buf, 0) != 0) return -2;
  arm(&buf);
  int found = -1;
  const char first = src[0];
  for (size_t k = 0; k < count && found < 0; k++) {
    const std::string& want = wants[k];
    if (want.empty() ? first != '\0' : want[0] != first) continue;
    size_t i = 0;
    while (i < want.size() && src[i] == want[i]) i++;
    if (i == want.size() && src[i] == '\0') found = static_cast<int>(k);
  }
  disarm();
  return found;
}
}  // namespace

bool mapped_equals(const char* src, std::string_view want) {
  install_handler();
  return guarded_equals(src, want.data(), want.size()) == 1;
}

int mapped_match(const char* src, std::span<const std::string> wants) {
  install_handler();
  const int r = guarded_match(src, wants.data(), wants.size());
  return r >= 0 ? r : -1;
}

std::optional<std::string> mapped_string(const char* src, size_t max) {
  install_handler();
  std::string out;
  char chunk[256];
  for (size_t done = 0; done < max;) {
    bool terminated = false;
    long got = guarded_scan(src + done, chunk, std::min(sizeof chunk, max - done), &terminated);
    if (got < 0) return std::nullopt;
    out.append(chunk, static_cast<size_t>(got));
    done += static_cast<size_t>(got);
    if (terminated) return out;
  }
  return std::nullopt;
}

}  // namespace loopperf
