#include "loopperf/v8/gc_epochs.h"

#include <linux/perf_event.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include "loopperf/common/fs.h"

namespace loopperf::v8 {

namespace {

constexpr size_t kRingPages = 1;            // 4 KiB: 170 records between two looks
constexpr size_t kMaxBegins = 256;          // kept per thread (samples older than these: unknown)
constexpr uint64_t kLostJump = 1ull << 32;  // after lost records: an epoch no earlier one can equal

// Records with sample_type TIME.
struct Record {
  perf_event_header header;
  uint64_t time;
};

uint64_t monotonic_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Result<std::unique_ptr<GcEpochs>> GcEpochs::create(pid_t pid, const std::string& exe, uint64_t offset) {
  if (offset == 0)
    return make_error(ErrorCode::kInput, "the node binary has no Heap::PerformGarbageCollection symbol", "");
  auto type = read_small_file("/sys/bus/event_source/devices/uprobe/type");
  if (!type)
    return make_error(ErrorCode::kPermission,
                      "the kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe)",
                      "a kernel with CONFIG_UPROBE_EVENTS");
  std::unique_ptr<GcEpochs> g(
      new GcEpochs(pid, exe, offset, static_cast<uint32_t>(std::strtoul(type->c_str(), nullptr, 10))));
  // The main thread's probe now: a refusal (no CAP_PERFMON) shows here, once.
  if (!g->open(pid))
    return make_error(ErrorCode::kPermission,
                      "uprobes on the node binary are refused (" + std::string(std::strerror(errno)) + ")",
                      "run loopperf as root or with CAP_PERFMON");
  return g;
}

GcEpochs::~GcEpochs() {
  for (auto& f : closing_) f.wait();
}

bool GcEpochs::open(pid_t tid) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = pmu_type_;
  a.config1 = reinterpret_cast<uint64_t>(exe_.c_str());  // uprobe_path
  a.config2 = offset_;                                   // probe_offset
  a.sample_period = 1;
  a.sample_type = PERF_SAMPLE_TIME;
  a.use_clockid = 1;
  a.clockid = CLOCK_MONOTONIC;  // the samples' clock
  // Never woken: the ring is looked at when the thread's stacks are named.
  a.watermark = 1;
  a.wakeup_watermark = kRingPages * 4096;
  const uint64_t opened = monotonic_now();
  auto ring = sample::PerfEvent::open(tid, a, kRingPages, sample::EventConfig{});
  if (!ring) return false;
  Thread t;
  t.ring = std::move(ring.value());
  t.valid_from_ns = opened;
  threads_.emplace(tid, std::move(t));
  stats_.threads++;
  return true;
}

GcEpochs::Thread* GcEpochs::thread(pid_t tid) {
  auto it = threads_.find(tid);
  if (it != threads_.end()) {
    update(it->second);
    return &it->second;
  }
  if (closed_ || refused_.count(tid)) return nullptr;
  if (!open(tid)) {
    refused_.insert(tid);
    stats_.refused++;
  }
  return nullptr;  // known from now on
}

void GcEpochs::update(Thread& t) {
  if (!t.ring.has_data()) return;
  t.ring.drain([&](const perf_event_header* h) {
    if (h->type == PERF_RECORD_LOST) {
      // Some begins are unknown: nothing before now can be trusted.
      stats_.lost++;
      t.count += kLostJump;
      t.valid_from_ns = monotonic_now();
      t.begins.clear();
      return;
    }
    if (h->type != PERF_RECORD_SAMPLE || h->size < sizeof(Record)) return;
    Record r;
    std::memcpy(&r, h, sizeof r);
    t.count++;
    stats_.collections++;
    t.begins.push_back(r.time);
    if (t.begins.size() > kMaxBegins) {
      t.valid_from_ns = t.begins.front();
      t.begins.pop_front();
    }
  });
}

std::optional<uint64_t> GcEpochs::epoch_at(pid_t tid, uint64_t time_ns) {
  Thread* t = thread(tid);
  if (t == nullptr || time_ns <= t->valid_from_ns) return std::nullopt;
  uint64_t count = t->count;
  for (auto it = t->begins.rbegin(); it != t->begins.rend() && *it >= time_ns; ++it) {
    if (*it == time_ns) return std::nullopt;  // no order between the two
    count--;
  }
  return count;
}

std::optional<uint64_t> GcEpochs::epoch_now(pid_t tid) {
  Thread* t = thread(tid);
  if (t == nullptr) return std::nullopt;
  return t->count;
}

void GcEpochs::close(bool release_now) {
  closed_ = true;
  for (auto& [tid, t] : threads_) retired_.push_back(std::move(t.ring));
  threads_.clear();
  if (release_now) release();
}

void GcEpochs::release() {
  std::erase_if(closing_, [](std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  // One task per probe: each close waits for a grace period, and waits started together end
  // together (closed one after another, 64 exited threads' probes took seconds).
  for (auto& ev : retired_) close_in_background(std::move(ev));
  retired_.clear();
}

void GcEpochs::close_in_background(sample::PerfEvent ev) {
  try {
    closing_.push_back(std::async(std::launch::async, [e = std::move(ev)]() mutable { e = {}; }));
  } catch (const std::system_error&) {
    // No thread to be had (a process limit): closed here, the wait on this thread.
    ev = {};
  }
}

void GcEpochs::forget(pid_t tid) {
  refused_.erase(tid);
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  // The close waits for an RCU grace period (~0.1 s): not on the drain loop's path. At once, so
  // that loopperf's descriptors follow the threads alive (a program that keeps making threads).
  close_in_background(std::move(it->second.ring));
  threads_.erase(it);
  std::erase_if(closing_, [](std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
}

}  // namespace loopperf::v8
