#include "remote_memory.h"

#include <sys/uio.h>

#include <algorithm>
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

void RemoteMemory::read_all(std::vector<Request>& requests) {
  iovec local[kIovMax], remote[kIovMax];
  size_t index[kIovMax];
  size_t next = 0;  // requests before it are done or were already tried
  while (true) {
    while (next < requests.size() && requests[next].state != kPending) next++;
    if (next >= requests.size()) return;
    if (gone_) {
      for (size_t i = next; i < requests.size(); ++i) {
        if (requests[i].state == kPending) requests[i].state = kFailed;
      }
      return;
    }
    size_t n = 0;
    for (size_t i = next; i < requests.size() && n < kIovMax; ++i) {
      Request& r = requests[i];
      if (r.state != kPending) continue;
      local[n] = {r.dst, r.len};
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
      // EFAULT (or ENOMEM) before anything was read: the first request is bad; go on after it.
      requests[index[0]].state = kFailed;
      continue;
    }
    // The kernel reads the ranges in order and stops at the first it cannot read completely: the
    // complete ones are good, the one it stopped in is bad, and the rest are tried again.
    size_t left = static_cast<size_t>(got), k = 0;
    for (; k < n && left >= requests[index[k]].len; ++k) {
      left -= requests[index[k]].len;
      requests[index[k]].state = kOk;
    }
    if (k < n) requests[index[k]].state = kFailed;
  }
}

void RemoteMemory::run() {
  // Each range costs the kernel a page lookup and pin; objects allocated together (a script's
  // functions, closures made in a row) share pages. Ranges close to each other are read as one
  // span; a span that fails leaves its ranges to be read one by one.
  order_.clear();
  for (size_t i = 0; i < ranges_.size(); ++i) {
    if (ranges_[i].state == kPending) order_.push_back(i);
  }
  if (order_.empty()) return;
  std::sort(order_.begin(), order_.end(),
            [&](size_t a, size_t b) { return ranges_[a].addr < ranges_[b].addr; });
  requests_.clear();
  groups_.clear();
  size_t span_bytes = 0;
  for (size_t k = 0; k < order_.size();) {
    const Range& first = ranges_[order_[k]];
    uint64_t end = first.addr + first.len;
    size_t last = k + 1;
    while (last < order_.size() && ranges_[order_[last]].addr <= end + kMergeGap &&
           ranges_[order_[last]].addr + ranges_[order_[last]].len - first.addr <= kMaxSpan) {
      end = std::max(end, ranges_[order_[last]].addr + ranges_[order_[last]].len);
      last++;
    }
    if (last - k == 1) {
      requests_.push_back(Request{first.addr, first.len, buffer_.data() + first.offset, kPending});
    } else {
      // The span's bytes go to span_buffer_, at an offset fixed up once it is sized.
      requests_.push_back(Request{first.addr, static_cast<uint32_t>(end - first.addr),
                                  reinterpret_cast<uint8_t*>(span_bytes), kPending});
      span_bytes += end - first.addr;
    }
    groups_.emplace_back(k, last);
    k = last;
  }
  span_buffer_.resize(span_bytes);
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].second - groups_[g].first > 1) {
      requests_[g].dst = span_buffer_.data() + reinterpret_cast<uintptr_t>(requests_[g].dst);
    }
  }
  read_all(requests_);
  retry_.clear();
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto [k0, k1] = groups_[g];
    const Request& req = requests_[g];
    if (k1 - k0 == 1) {
      ranges_[order_[k0]].state = req.state;
      continue;
    }
    for (size_t k = k0; k < k1; ++k) {
      Range& r = ranges_[order_[k]];
      if (req.state == kOk) {
        std::memcpy(buffer_.data() + r.offset, req.dst + (r.addr - req.addr), r.len);
        r.state = kOk;
      } else {
        retry_.push_back(Request{r.addr, r.len, buffer_.data() + r.offset, kPending});
      }
    }
  }
  if (retry_.empty()) return;
  read_all(retry_);
  size_t j = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto [k0, k1] = groups_[g];
    if (k1 - k0 == 1 || requests_[g].state == kOk) continue;
    for (size_t k = k0; k < k1; ++k) ranges_[order_[k]].state = retry_[j++].state;
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
