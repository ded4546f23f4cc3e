// `loopperf watch` (watch.h): the flight recorder, the stall trigger and the other triggers around
// one long-lived recorder.
#include "loopperf/record/watch.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <regex>
#include <utility>

#include "loopperf/common/duration.h"
#include "loopperf/common/fd_budget.h"
#include "loopperf/common/log.h"
#include "loopperf/loop/stall_detector.h"
#include "loopperf/process/launch.h"
#include "loopperf/process/process.h"
#include "loopperf/record/flight_recorder.h"
#include "loopperf/record/node_target.h"
#include "loopperf/record/recorder.h"

namespace loopperf::record {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kHourNs = 3'600'000'000'000ULL;

// What the watch takes from the pipeline as it happens.
class WatchSink : public PipelineSink {
 public:
  // `main_is_loop`: node's main thread counts as its loop even when found busy (a loop already stuck
  // when an attached watch begins). Not for a process watch launched: it is busy starting up, for
  // hundreds of ms before its loop first waits, and that is no stall.
  WatchSink(FlightRecorder& flight, loop::StallDetector& detector, pid_t pid, bool main_is_loop)
      : flight_(flight), detector_(detector), pid_(pid), main_is_loop_(main_is_loop) {}
  void kept(const KeptSample& s) override {
    flight_.kept(s);
    if (!s.tag.wall) on_cpu_.emplace_back(s.tid, s.time_ns);
  }
  // The cpu samples of this step, for StallDetector::on_cpu once its poll events are applied.
  void apply_cpu_samples() {
    for (const auto& [tid, time_ns] : on_cpu_) detector_.on_cpu(tid, time_ns);
    on_cpu_.clear();
  }
  void poll_event(const sample::PollEvent& e) override {
    flight_.poll_event(e);
    if (e.gap) detector_.gap(e.tid, e.time_ns, e.until_ns);
    else if (e.enter) detector_.poll_enter(e.tid, e.time_ns, e.epfd, e.frame);
    else detector_.poll_exit(e.tid, e.time_ns, e.epfd, e.frame);
  }
  void thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame) override {
    detector_.add_thread(tid, main_is_loop_ && tid == pid_, loop_epfd, loop_frame, monotonic_ns());
  }
  void thread_ended(pid_t tid) override { detector_.end_thread(tid); }
  void signal_delivered(pid_t, uint64_t time_ns, int sig) override {
    if (sig != SIGTERM || sigterm_seen_) return;
    sigterm_seen_ = true;  // the first one: an orchestrator repeats it, the incident is already open
    sigterm_ns_ = time_ns;
  }
  // When the target took its first SIGTERM, once (0: not yet, or already taken).
  uint64_t take_sigterm() { return std::exchange(sigterm_ns_, 0); }

 private:
  FlightRecorder& flight_;
  loop::StallDetector& detector_;
  pid_t pid_;
  bool main_is_loop_;
  uint64_t sigterm_ns_ = 0;
  bool sigterm_seen_ = false;
  std::vector<std::pair<pid_t, uint64_t>> on_cpu_;  // (tid, time) of this step's cpu samples
};

// Incident files beyond `max_bytes` in `dir`, oldest first, are removed; the newest always stays.
void rotate(const std::string& dir, uint64_t max_bytes) {
  static const std::regex kName(R"((stall|sigterm|snapshot|exit|stop)-\d{8}T\d{6}\.\d{3}Z-\d+ms\.pb\.gz)");
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  struct File {
    std::string path;
    int64_t mtime_ns;
    uint64_t size;
  };
  std::vector<File> files;
  while (dirent* e = ::readdir(d)) {
    if (!std::regex_match(e->d_name, kName)) continue;
    std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back({path, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec, static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(d);
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) {
    return a.mtime_ns != b.mtime_ns ? a.mtime_ns < b.mtime_ns : a.path < b.path;
  });
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  for (size_t i = 0; i + 1 < files.size() && total > max_bytes; i++) {
    if (::unlink(files[i].path.c_str()) == 0) {
      total -= files[i].size;
      log::info("removed " + files[i].path + " (--max-bytes " + std::to_string(max_bytes) + ")");
    }
  }
}

Status prepare_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || ::mkdir(dir.c_str(), 0755) != 0)
      return make_error(ErrorCode::kOutput, "cannot create the incident directory " + dir + ": " + std::strerror(errno),
                        "choose a writable directory with -o");
  } else if (!S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::kOutput, dir + " is not a directory", "-o names the directory incidents are written to");
  }
  if (::access(dir.c_str(), W_OK) != 0)
    return make_error(ErrorCode::kOutput, "the incident directory " + dir + " is not writable", "choose a writable directory with -o");
  return {};
}

}  // namespace

Result<int> run_watch(const WatchConfig& cfg, const WatchHooks& hooks) {
  const bool launch = !cfg.command.empty();
  if (auto st = prepare_dir(cfg.dir); !st) return st.error();
  FdReserve fd_reserve(static_cast<int>(std::min<uint64_t>(16, fd_limit() / 4)));

  process::LaunchedChild child;
  pid_t pid = cfg.pid;
  if (launch) {
    process::LaunchOptions lo;
    lo.argv = cfg.command;
    // A watched service runs for days: V8's perf map would grow in /tmp all that time. Heap names need none.
    lo.perf_map = false;
    if (auto st = child.start(lo); !st) return st.error();
    pid = child.pid();
    if (auto st = child.release(); !st) return st.error();
  }
  auto info = inspect_target(pid);
  if (!info) {
    if (launch) child.wait();
    return info.error();
  }
  if (!info->is_node)
    log::warn("pid " + std::to_string(pid) + " (" + info->comm + ") does not look like node: there is no event loop to "
              "watch; only snapshots (SIGUSR1), SIGTERM and the exit write incidents");

  WatchContext ctx;
  ctx.pid = pid;
  ctx.is_node = info->is_node;
  ctx.exe = info->exe;
  ctx.cmdline = info->cmdline_string();
  ctx.node_version = info->is_node ? process::node_version(pid) : std::string();
  ctx.rate_hz = cfg.sampling.frequency_hz;
  ctx.idle_rate_hz = cfg.idle_rate_hz;
  ctx.stall_threshold_ns = cfg.stall.count();
  ctx.keep_ns = static_cast<uint64_t>(cfg.keep.count());

  RecorderOptions ro = cfg.sampling;
  ro.pid = info->proc_pid;
  ro.defer_sampling = true;
  ro.idle_frequency_hz = cfg.idle_rate_hz;
  ro.wall = true;
  ro.wall_on_demand = true;
  ro.keep_stacks = false;
  ro.watch_signals = true;
  ro.loop_health = true;
  ro.stall_threshold_ns = cfg.stall.count();
  FlightRecorder flight(ctx.keep_ns, cfg.flight_bytes);
  loop::StallDetector detector(cfg.stall.count());
  WatchSink sink(flight, detector, pid, info->is_node && !launch);
  auto created = Recorder::create(ro);
  if (!created) {
    if (launch) {
      child.signal(SIGTERM);
      child.wait();
    }
    return created.error();
  }
  std::unique_ptr<Recorder> rec = std::move(created.value());
  rec->set_sink(&sink);
  rec->start(ctx.exe, info->is_node);
  for (const auto& w : rec->warnings()) log::warn(w);
  if (info->is_node && !rec->traces_polls()) {
    rec->stop();
    if (launch) {
      child.signal(SIGTERM);
      child.wait();
    }
    return make_error(ErrorCode::kPermission, "watch needs the poll-wait tracepoints to see a stall, and they cannot be opened",
                      "run as root, or give loopperf CAP_PERFMON and read access to tracefs (docs/troubleshooting.md)");
  }
  ctx.realtime_offset_ns = realtime_ns() - static_cast<int64_t>(monotonic_ns());
  rec->trim_memory();  // what setting up read (node's symbol table, for V8's layout) is not needed now
  if (hooks.watching) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "watching pid %d%s%s: stalls over %s captured at %d Hz, the last %s kept at %d Hz; incidents in %s",
                  pid, ctx.node_version.empty() ? "" : " (node ", ctx.node_version.empty() ? "" : (ctx.node_version + ")").c_str(),
                  format_duration(cfg.stall).c_str(), ctx.rate_hz, format_duration(cfg.keep).c_str(), ctx.idle_rate_hz,
                  cfg.dir.c_str());
    hooks.watching(buf);
  }

  std::optional<Incident> open;           // the incident being captured
  std::map<pid_t, uint64_t> reported;     // loop thread -> busy period already written (or skipped)
  std::deque<uint64_t> stall_times;       // stall incidents of the last hour (--max-incidents)
  uint64_t skipped = 0;
  uint64_t last_skip_note = 0;
  int incidents = 0, failures = 0;
  std::optional<Error> first_failure;

  const auto write = [&](const Incident& inc) {
    rec->step(std::chrono::milliseconds(0));  // what the rings and the wall sampler still hold
    auto r = write_incident(*rec, flight, detector, inc, ctx, cfg.dir);
    if (!r) {
      failures++;
      log::warn("incident not written: " + r.error().message, r.error().hint);
      if (!first_failure) first_failure = r.error();
      return;
    }
    incidents++;
    if (hooks.incident) hooks.incident(inc, *r, ctx);
    rotate(cfg.dir, cfg.max_bytes);
    rec->trim_memory();
  };
  const auto close_open = [&](uint64_t end_ns, bool ended) {
    if (!open) return;
    open->end_ns = std::max(end_ns, open->start_ns);
    open->ended = ended;
    Incident inc = *open;
    open.reset();
    write(inc);
    rec->capture({});
  };

  const process::ExitWatch target_exit(pid);
  const auto start = Clock::now();
  // Trimmed again 5 s in (uv_run's call-site table, built after 1 s, reads node's code), then every minute.
  auto last_trim = start - std::chrono::seconds(55);
  uint64_t polls_lost_said = 0;  // poll-wait records lost, as last warned about
  bool target_exited = false;
  bool stopped = false;
  bool out_of_memory = false;
  try {
    for (;;) {
      if (cfg.duration && Clock::now() - start >= *cfg.duration) break;
      const StopRequest req = hooks.take_signal ? hooks.take_signal() : StopRequest{};
      const int sig = req.signo;
      if (sig == SIGUSR1) {
        const uint64_t now = monotonic_ns();
        Incident snap;
        snap.trigger = Trigger::kSnapshot;
        snap.start_ns = snap.end_ns = now;
        snap.ended = true;
        write(snap);
      } else if (sig) {
        if (launch) {
          // The service ends as it would have, and its exit ends the watch. Ctrl-C from the terminal
          // reached it already (same process group): only what was sent to loopperf alone is passed on.
          if (!req.from_terminal) child.signal(sig);
        } else {
          stopped = true;
          break;
        }
      }
      if (launch ? child.poll_exit() : target_exit.exited()) {
        target_exited = true;
        break;
      }
      // 50 ms while healthy: a stall is seen at most that late (of --stall's 200), and the steps
      // themselves are half of what watching a healthy loop costs. 10 ms while capturing.
      rec->step(std::chrono::milliseconds(open ? 10 : 50));
      sink.apply_cpu_samples();
      const uint64_t now = monotonic_ns();
      if (rec->polls_lost() > polls_lost_said) {
        // A lost exit from a poll wait hides the busy period it began until the loop's next record or
        // cpu sample (StallDetector::on_cpu).
        if (!polls_lost_said)
          log::warn("poll-wait records were lost (loopperf did not read them in time, the machine is busy): a stall "
                    "that began then is seen from the loop's next record or cpu sample, a little late; the count "
                    "is in each incident's loop_health.lost");
        polls_lost_said = rec->polls_lost();
      }
      if (!open && Clock::now() - last_trim >= std::chrono::minutes(1)) {
        rec->trim_memory();
        last_trim = Clock::now();
      }

      // SIGTERM to the target: what led to it and what follows until it exits (or --max-capture).
      if (uint64_t t = sink.take_sigterm()) {
        if (open && open->trigger == Trigger::kStall) close_open(now, false);
        if (!open) {
          open = Incident{Trigger::kSigterm, 0, t, 0, false};
          rec->capture({pid});
          log::info("the target received SIGTERM: capturing until it exits (at most " + format_duration(cfg.max_capture) + ")");
        }
      }

      if (open && open->trigger == Trigger::kStall) {
        if (auto end = detector.period_end(open->tid, open->start_ns)) {
          close_open(*end, true);
        } else if (!detector.busy_since(open->tid) && !detector.waiting_since(open->tid)) {
          close_open(now, false);  // the thread is gone
        }
      }
      if (open && now - open->start_ns >= static_cast<uint64_t>(cfg.max_capture.count())) close_open(now, false);

      if (!open) {
        for (const auto& busy : detector.stuck(now)) {
          auto it = reported.find(busy.tid);
          if (it != reported.end() && it->second == busy.since_ns) continue;
          reported[busy.tid] = busy.since_ns;
          while (!stall_times.empty() && now - stall_times.front() > kHourNs) stall_times.pop_front();
          if (static_cast<int>(stall_times.size()) >= cfg.max_incidents) {
            skipped++;
            if (!last_skip_note || now - last_skip_note > kHourNs / 6) {
              log::warn("stall of thread " + std::to_string(busy.tid) + " not captured: " +
                            std::to_string(cfg.max_incidents) + " incidents in the last hour (--max-incidents)",
                        "raise --max-incidents to capture more");
              last_skip_note = now;
            }
            continue;
          }
          stall_times.push_back(now);
          open = Incident{Trigger::kStall, busy.tid, busy.since_ns, 0, false};
          rec->capture({busy.tid});
          break;
        }
      }
      flight.trim(now, open ? flight.window_start(open->start_ns) : UINT64_MAX);
    }
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
    log::warn("out of memory while watching: stopping; writing what is held");
  }
  const uint64_t now = monotonic_ns();
  rec->step(std::chrono::milliseconds(0));
  // What is held is written: the open incident as it stands, or the last window with why the watch ended.
  if (open) {
    // A SIGTERM incident ends as it should, with the exit; anything else is cut short.
    close_open(now, target_exited && open->trigger == Trigger::kSigterm);
  } else if (target_exited || stopped) {
    Incident last;
    last.trigger = target_exited ? Trigger::kExit : Trigger::kStop;
    last.start_ns = last.end_ns = now;
    last.ended = true;
    write(last);
  }
  rec->stop();
  fd_reserve.release();
  if (skipped) log::warn(std::to_string(skipped) + " stalls were not captured (--max-incidents " + std::to_string(cfg.max_incidents) + " per hour)");
  log::info(std::to_string(incidents) + " incident" + (incidents == 1 ? "" : "s") + " written to " + cfg.dir +
            (target_exited ? " (the target exited)" : ""));
  if (out_of_memory)
    return make_error(ErrorCode::kResource, "out of memory while watching: what was held is written to " + cfg.dir,
                      "raise the memory limit, or keep less (--keep)");
  if (launch) child.wait();
  if (failures && first_failure) return *first_failure;
  if (launch) return child.exit_status();
  return target_exited ? kTargetExitedStatus : 0;
}

}  // namespace loopperf::record
