#include "remote_memory.h"

#include <sys/uio.h>

#include <cerrno>

namespace loopperf::v8 {

namespace {
constexpr size_t kIovMax = 1024;  // IOV_MAX on Linux
}

size_t RemoteMemory::add(uint64_t addr, uint32_t len) {
  if (len == 0 || len > kMaxQueued || !plausible(addr, len)) return kNone;
  // Offsets stay 8-aligned so the u64() of a header is an aligned copy.
  const uint32_t offset = static_cast<uint32_t>(buffer_.size());
  buffer_.resize(buffer_.size() + ((len + 7) & ~uint32_t{7}));
  ranges_.push_back(Range{addr, len, offset, kPending});
  return ranges_.size() - 1;
}

void RemoteMemory::clear() {
  ranges_.clear();
  buffer_.clear();
}

void RemoteMemory::run() {
  iovec local[kIovMax], remote[kIovMax];
  size_t index[kIovMax];
  size_t next = 0;  // ranges before it are done or were already tried
  while (true) {
    while (next < ranges_.size() && ranges_[next].state != kPending) next++;
    if (next >= ranges_.size()) return;
    if (gone_) {
      for (size_t i = next; i < ranges_.size(); ++i) {
        if (ranges_[i].state == kPending) ranges_[i].state = kFailed;
      }
      return;
    }
    size_t n = 0;
    for (size_t i = next; i < ranges_.size() && n < kIovMax; ++i) {
      Range& r = ranges_[i];
      if (r.state != kPending) continue;
      local[n] = {buffer_.data() + r.offset, r.len};
      remote[n] = {reinterpret_cast<void*>(r.addr), r.len};
      index[n++] = i;
    }
    calls_++;
    const ssize_t got = ::process_vm_readv(pid_, local, n, remote, n, 0);
    if (got < 0) {
      if (errno == ESRCH || errno == EPERM) {
        gone_ = true;
        continue;
      }
      // EFAULT (or ENOMEM) before anything was read: the first range is bad; go on after it.
      ranges_[index[0]].state = kFailed;
      continue;
    }
    // The kernel reads the ranges in order and stops at the first it cannot read completely: the
    // complete ones are good, the one it stopped in is bad, and the rest are tried again.
    size_t left = static_cast<size_t>(got), k = 0;
    for (; k < n && left >= ranges_[index[k]].len; ++k) {
      left -= ranges_[index[k]].len;
      ranges_[index[k]].state = kOk;
    }
    if (k < n) ranges_[index[k]].state = kFailed;
  }
}

bool RemoteMemory::read(uint64_t addr, void* dst, size_t len) {
  if (len == 0) return true;
  if (gone_ || !plausible(addr, len)) return false;
  iovec local{dst, len}, remote{reinterpret_cast<void*>(addr), len};
  calls_++;
  const ssize_t got = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (got < 0 && (errno == ESRCH || errno == EPERM)) gone_ = true;
  return got == static_cast<ssize_t>(len);
}

}  // namespace loopperf::v8
