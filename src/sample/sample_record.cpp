#include "loopperf/sample/sample_record.h"

#include <cstring>

namespace loopperf::sample {

namespace {
// Layout of PERF_RECORD_SAMPLE for sample_type TID|TIME|PERIOD|CALLCHAIN (kernel ABI order).
struct SampleHead {
  perf_event_header header;
  uint32_t pid, tid;
  uint64_t time;
  uint64_t period;
  uint64_t nr;
  // uint64_t ips[nr];
};

// After the callchain: REGS_USER {u64 abi; u64 regs[popcount(mask)]}, then STACK_USER
// {u64 size; u8 data[size]; u64 dyn_size} (kernel ABI order).
bool parse_regs_and_stack(const perf_event_header* h, const EventConfig& cfg, RawSample& s) {
  const char* end = reinterpret_cast<const char*>(h) + h->size;
  const char* p = reinterpret_cast<const char*>(s.ips + s.nr);
  auto take = [&](uint64_t& v) {
    if (p + 8 > end) return false;
    std::memcpy(&v, p, 8);
    p += 8;
    return true;
  };
  uint64_t abi = 0;
  if (!take(abi)) return false;
  if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
    size_t n = static_cast<size_t>(__builtin_popcountll(cfg.regs_mask));
    if (p + n * 8 > end) return false;
    s.regs = reinterpret_cast<const uint64_t*>(p);
    s.regs_count = n;
    p += n * 8;
  }
  uint64_t size = 0;
  if (!take(size)) return false;
  if (size > 0) {
    if (p + size + 8 > end) return false;
    s.stack = reinterpret_cast<const uint8_t*>(p);
    p += size;
    uint64_t dyn = 0;
    take(dyn);
    s.stack_size = dyn < size ? dyn : size;
  }
  return true;
}
}  // namespace

bool parse_cpu_sample(const perf_event_header* h, const EventConfig& cfg, RawSample& s) {
  if (h->size < sizeof(SampleHead)) return false;
  SampleHead head;
  std::memcpy(&head, h, sizeof head);
  size_t max_nr = (h->size - sizeof(SampleHead)) / sizeof(uint64_t);
  s = RawSample{};
  s.pid = static_cast<pid_t>(head.pid);
  s.tid = static_cast<pid_t>(head.tid);
  s.time_ns = head.time;
  s.period = head.period;
  s.nr = head.nr < max_nr ? head.nr : max_nr;
  s.ips = reinterpret_cast<const uint64_t*>(reinterpret_cast<const char*>(h) + sizeof(SampleHead));
  return !cfg.user_regs_and_stack || parse_regs_and_stack(h, cfg, s);
}

OwnedSample::OwnedSample(const RawSample& s)
    : head_(s), has_regs_(s.regs != nullptr), has_stack_(s.stack != nullptr) {
  if (s.ips) ips_.assign(s.ips, s.ips + s.nr);
  if (s.regs) regs_.assign(s.regs, s.regs + s.regs_count);
  if (s.stack) stack_.assign(s.stack, s.stack + s.stack_size);
}

RawSample OwnedSample::view() const {
  RawSample s = head_;
  s.ips = ips_.empty() ? nullptr : ips_.data();
  s.nr = ips_.size();
  s.regs = has_regs_ ? regs_.data() : nullptr;
  s.regs_count = regs_.size();
  // A stack copy of size 0 is still "a copy" (the unwinder tells it from none).
  static const uint8_t kEmpty = 0;
  s.stack = has_stack_ ? (stack_.empty() ? &kEmpty : stack_.data()) : nullptr;
  s.stack_size = stack_.size();
  return s;
}

}  // namespace loopperf::sample
