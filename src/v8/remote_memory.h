// Reads of another process's memory, batched: many ranges in one process_vm_readv. Addresses come
// from the target and are untrusted; a range that cannot be read just fails, alone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace loopperf::v8 {

class RemoteMemory {
 public:
  explicit RemoteMemory(pid_t pid) : pid_(pid) {}

  // Largest range one queued read may have (a header, a name: small; big tables go through read()).
  static constexpr uint32_t kMaxQueued = 4096;

  // Queues [addr, addr+len); returns its index for ok()/data(), or kNone when the range is not a
  // plausible user-space address or too long (then ok() of kNone is false).
  static constexpr size_t kNone = SIZE_MAX;
  size_t add(uint64_t addr, uint32_t len);
  // Reads what was queued and not read yet (ranges queued before an earlier run() keep their data):
  // ranges less than kMergeGap apart are read as one; one process_vm_readv per 1024 ranges, more
  // when a range fails (the kernel stops at the first failing range; the rest are read again).
  void run();
  void clear();
  size_t size() const { return ranges_.size(); }

  bool ok(size_t i) const { return i < ranges_.size() && ranges_[i].state == kOk; }
  const uint8_t* data(size_t i) const { return buffer_.data() + ranges_[i].offset; }
  uint64_t u64(size_t i, uint32_t off) const {
    uint64_t v;
    std::memcpy(&v, data(i) + off, 8);
    return v;
  }
  uint32_t u32(size_t i, uint32_t off) const {
    uint32_t v;
    std::memcpy(&v, data(i) + off, 4);
    return v;
  }
  uint16_t u16(size_t i, uint32_t off) const {
    uint16_t v;
    std::memcpy(&v, data(i) + off, 2);
    return v;
  }

  // One synchronous read of any length; false unless all of it was read.
  bool read(uint64_t addr, void* dst, size_t len);

  // process_vm_readv calls made, and whether the process was found gone or forbidden.
  uint64_t calls() const { return calls_; }
  bool process_gone() const { return gone_; }

  static bool plausible(uint64_t addr, uint64_t len) {
    // x86-64 user space, and not the first pages (null-ish pointers).
    return addr >= 0x10000 && addr < (uint64_t{1} << 47) && len <= (uint64_t{1} << 32) &&
           addr + len <= (uint64_t{1} << 47);
  }

 private:
  static constexpr uint64_t kMergeGap = 512;
  static constexpr uint64_t kMaxSpan = 8192;

  enum State : uint8_t { kPending, kOk, kFailed };
  struct Request {
    uint64_t addr;
    uint32_t len;
    uint8_t* dst;
    State state;
  };
  // Reads every pending request, retrying after a failing one.
  void read_all(std::vector<Request>& requests);

  struct Range {
    uint64_t addr;
    uint32_t len;
    uint32_t offset;  // into buffer_
    State state;
  };
  pid_t pid_;
  std::vector<Range> ranges_;
  std::vector<uint8_t> buffer_;
  // run()'s scratch, kept between calls.
  std::vector<size_t> order_;
  std::vector<Request> requests_, retry_;
  std::vector<std::pair<size_t, size_t>> groups_;  // per request: its ranges, [first, last) in order_
  std::vector<uint8_t> span_buffer_;
  uint64_t calls_ = 0;
  bool gone_ = false;
};

}  // namespace loopperf::v8
