#include "loopperf/sample/sampler.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "loopperf/common/duration.h"
#include "loopperf/common/log.h"
#include "loopperf/process/process.h"

namespace loopperf::sample {

namespace {
struct LostRecord {
  perf_event_header header;
  uint64_t id;
  uint64_t lost;
};
struct CommRecord {
  perf_event_header header;
  uint32_t pid, tid;
  char comm[16];
};
// Records drained before a thread's period is re-drawn. Each re-draw restarts the period and drops
// the part already elapsed (on average half a period), so this many samples lose ~1/(2 x 32) = 1.6%
// of the thread's CPU time from the cpu values, and cost one ioctl (an IPI when the thread is
// running) per 32 samples; the phase of the samples against the target's cycles changes as often.
constexpr uint32_t kRearmRecords = 32;
}  // namespace

Sampler::Sampler(const SamplerConfig& cfg, SampleFn fn)
    : cfg_(cfg), on_sample_(std::move(fn)), jitter_(1'000'000'000ULL / static_cast<uint64_t>(cfg.event.frequency_hz)),
      jitter_on_(cfg.event.jitter) {}

Result<std::unique_ptr<Sampler>> Sampler::create(const SamplerConfig& cfg, SampleFn on_sample) {
  std::unique_ptr<Sampler> s(new Sampler(cfg, std::move(on_sample)));
  // Preflight on the main thread: its error is the one the user must see. Kernel callchains need
  // more privilege than user ones; fall back to user-only rather than fail.
  EventConfig main_cfg = s->cfg_.event;
  if (main_cfg.main_ring_pages != 0) main_cfg.ring_pages = main_cfg.main_ring_pages;
  auto main_ev = PerfEvent::open(cfg.pid, main_cfg);
  // A larger ring the locked-memory budget does not allow: the usual one.
  if (!main_ev.ok() && main_ev.error().code == ErrorCode::kResource) main_ev = PerfEvent::open(cfg.pid, s->cfg_.event);
  if (!main_ev.ok() && s->cfg_.event.kernel && main_ev.error().code == ErrorCode::kPermission) {
    s->cfg_.event.kernel = false;
    auto user_only = PerfEvent::open(cfg.pid, s->cfg_.event);
    if (user_only.ok()) {
      log::warn("kernel frames are not allowed at this kernel.perf_event_paranoid; recording user frames only",
                "run as root or set kernel.perf_event_paranoid=1 to see kernel frames");
      main_ev = std::move(user_only);
    }
  }
  if (!main_ev.ok()) return main_ev.error();
  prepare_sampling_thread();
  s->events_.emplace(cfg.pid, Followed{std::move(main_ev.value())});
  s->names_[cfg.pid] = process::thread_name(cfg.pid, cfg.pid);
  s->stats_.threads_seen = 1;
  s->enabled_ = !cfg.deferred;
  if (s->enabled_) s->events_.at(cfg.pid).event.enable();
  s->scan_threads();
  return s;
}

void Sampler::start() {
  if (enabled_) return;
  enabled_ = true;
  for (auto& [tid, f] : events_) f.event.enable();
}

Sampler::~Sampler() {
  for (auto& [tid, f] : events_) f.event.disable();
}

bool Sampler::add_thread(pid_t tid, Error* first_error) {
  if (events_.size() >= cfg_.max_threads) {
    if (!failed_[tid]) stats_.threads_skipped++;
    failed_[tid] = true;
    return false;
  }
  auto ev = PerfEvent::open(tid, cfg_.event);
  if (!ev.ok()) {
    // A thread that exited between readdir and open is normal churn, not a failure.
    if (ev.error().code != ErrorCode::kNoProcess) {
      stats_.threads_skipped++;
      if (first_error && first_error->message.empty()) *first_error = ev.error();
    }
    failed_[tid] = true;
    return false;
  }
  if (enabled_) ev->enable();
  events_.emplace(tid, Followed{std::move(ev.value())});
  stats_.threads_seen++;
  return true;
}

void Sampler::scan_threads() {
  std::vector<pid_t> tids = process::list_threads(cfg_.pid);
  if (tids.empty()) return;  // unknown (process.h): nothing is taken for ended
  std::set<pid_t> alive(tids.begin(), tids.end());
  Error first;
  for (pid_t tid : tids) {
    if (events_.count(tid) || failed_.count(tid)) continue;
    if (add_thread(tid, &first)) names_[tid] = process::thread_name(cfg_.pid, tid);
  }
  if (!first.message.empty()) log::warn(first.message, first.hint);
  // Threads that ended: drain what they recorded, then free their fd and ring.
  for (auto it = events_.begin(); it != events_.end();) {
    if (!alive.count(it->first)) {
      drain(it->second, /*rearm=*/false);
      it = events_.erase(it);
    } else {
      ++it;
    }
  }
  stats_.threads_active = events_.size();
  stats_.ring_bytes = 0;
  for (auto& [tid, f] : events_) stats_.ring_bytes += f.event.mapped_bytes();
}

void Sampler::handle(const perf_event_header* h, const Followed& f) {
  switch (h->type) {
    case PERF_RECORD_SAMPLE: {
      RawSample s;
      if (!parse_cpu_sample(h, cfg_.event, s)) return;
      if (f.rate_since_ns) {
        const uint64_t now = f.nominal_ns ? f.nominal_ns : jitter_.nominal();
        s.period = s.time_ns >= f.rate_since_ns ? now : f.before_ns;
      }
      stats_.samples++;
      on_sample_(s);
      break;
    }
    case PERF_RECORD_LOST: {
      if (h->size < sizeof(LostRecord)) return;
      LostRecord lost;
      std::memcpy(&lost, h, sizeof lost);
      stats_.lost += lost.lost;
      break;
    }
    case PERF_RECORD_COMM: {
      if (h->size < sizeof(perf_event_header) + 9) return;
      CommRecord c{};
      std::memcpy(&c, h, std::min<size_t>(h->size, sizeof c));
      c.comm[15] = '\0';
      names_[static_cast<pid_t>(c.tid)] = c.comm;
      break;
    }
    default:
      break;
  }
}

void Sampler::drain(Followed& f, bool rearm) {
  f.since_rearm += static_cast<uint32_t>(f.event.drain([this, &f](const perf_event_header* h) { handle(h, f); }));
  if (!rearm || !jitter_on_ || f.since_rearm < kRearmRecords) return;
  f.since_rearm = 0;
  if (!f.event.set_period(next_period(f))) {
    jitter_on_ = false;  // an old kernel without PERF_EVENT_IOC_PERIOD for this event: fixed period
    log::debug("sampling period cannot be changed here (PERF_EVENT_IOC_PERIOD failed); fixed period");
  }
}

uint64_t Sampler::next_period(const Followed& f) {
  const uint64_t drawn = jitter_on_ ? jitter_.next() : jitter_.nominal();
  if (!f.nominal_ns) return drawn;
  // Scaled to the thread's own rate: the same spread around its period.
  return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(drawn) * static_cast<double>(f.nominal_ns) /
                                                     static_cast<double>(jitter_.nominal())));
}

void Sampler::set_rate(pid_t tid, int hz) {
  auto it = events_.find(tid);
  if (it == events_.end()) return;
  Followed& f = it->second;
  // What the ring still holds was sampled at the old rate: drained first, it counts as such.
  drain(f, /*rearm=*/false);
  f.before_ns = f.nominal_ns ? f.nominal_ns : jitter_.nominal();
  f.rate_since_ns = monotonic_ns();
  f.nominal_ns = hz > 0 ? 1'000'000'000ULL / static_cast<uint64_t>(hz) : 0;
  if (f.nominal_ns == jitter_.nominal()) f.nominal_ns = 0;
  f.since_rearm = 0;
  if (!f.event.set_period(next_period(f)))
    log::debug("sampling period of thread " + std::to_string(tid) + " cannot be changed (PERF_EVENT_IOC_PERIOD failed)");
}

void Sampler::drain_all(bool rearm) {
  for (auto& [tid, f] : events_) drain(f, rearm);
}

void Sampler::poll(std::chrono::milliseconds timeout, const std::vector<int>& also_wake) {
  std::vector<pollfd> fds;
  fds.reserve(events_.size() + also_wake.size());
  for (auto& [tid, f] : events_) fds.push_back(pollfd{f.event.fd(), POLLIN, 0});
  for (int fd : also_wake) fds.push_back(pollfd{fd, POLLIN, 0});
  ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  drain_all();
  // POLLHUP: the thread exited. Its ring was just drained; close it now, or poll() would keep
  // returning at once for it.
  for (const auto& p : fds) {
    if (!(p.revents & POLLHUP)) continue;
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      if (it->second.event.fd() == p.fd) {
        events_.erase(it);
        break;
      }
    }
  }
  stats_.threads_active = events_.size();
}

void Sampler::finish() {
  for (auto& [tid, f] : events_) f.event.disable();
  drain_all(/*rearm=*/false);
  stats_.threads_active = events_.size();
}

}  // namespace loopperf::sample
