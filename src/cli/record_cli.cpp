// `loopperf record` options, and what only a terminal has: the stop signals and the status line.
// The recording itself is the record stage's (record/session.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "loopperf/common/duration.h"
#include "loopperf/common/log.h"
#include "loopperf/process/stop_watchdog.h"
#include "loopperf/record/session.h"
#include "record_config.h"
#include "signals.h"

namespace loopperf::cli {

namespace {

// "recording pid 4242: 3.2s, 3190 samples, 11 threads, 0 lost", rewritten in place on a terminal.
class StatusLine {
 public:
  explicit StatusLine(bool enabled) : enabled_(enabled) {}
  ~StatusLine() { clear(); }
  void show(const record::Progress& p) {
    if (!enabled_) return;
    std::fprintf(stderr, "\r\033[Krecording pid %d: %s, %llu samples, %llu threads, %llu lost", p.pid,
                 format_duration(p.elapsed).c_str(), static_cast<unsigned long long>(p.samples),
                 static_cast<unsigned long long>(p.threads), static_cast<unsigned long long>(p.lost));
    shown_ = true;
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

Result<int> run_record(const record::RecordConfig& cfg) {
  install_stop_handlers();
  // Wall mode stops threads with ptrace: a SIGSTOP of loopperf must not hold one (stop_watchdog.h).
  if (cfg.sampling.wall) process::start_stop_watchdog();
  install_job_control();
  StatusLine status(!cfg.quiet && ::isatty(STDERR_FILENO));
  record::SessionHooks hooks;
  hooks.take_stop_request = [] {
    PendingSignal s = take_signal();
    return record::StopRequest{s.signo, s.from_terminal};
  };
  // The status line goes before anything else is printed: the session's messages come after stop.
  hooks.progress = [&status](const record::Progress& p) { status.show(p); };
  hooks.stopped = [&status] { status.clear(); };
  return record::run_record(cfg, hooks);
}

}  // namespace

Command register_record(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  auto* sub = app.add_subcommand("record", "Sample a running process (-p PID) or a command (-- CMD ...)");
  sub->add_option("-p,--pid", args->pid, "Process id to attach to");
  sub->add_option("-d,--duration", args->duration, "How long to record: 500ms, 10s, 2m (default: until Ctrl-C or exit)");
  sub->add_option("-o,--output", args->output, "Output file (default loopperf-PID-YYYYmmdd-HHMMSS.pb.gz)");
  sub->add_option("-F,--frequency", args->frequency, "Samples per second per thread (default 999)");
  sub->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  sub->add_flag("--no-perf-map", args->no_perf_map, "Launch mode: do not turn on node's --perf-basic-prof");
  sub->add_flag("--keep-perf-map", args->keep_perf_map, "Launch mode: keep /tmp/perf-PID.map after the run");
  sub->add_flag("--children", args->children,
                "With -p: also record the target's descendants, running and started later (launch mode does by default)");
  sub->add_flag("--no-children", args->no_children,
                "Launch mode: record the launched process only, not the processes it starts (npm's node, workers)");
  sub->add_flag("--no-kernel", args->no_kernel, "Record user-space frames only");
  sub->add_option("--mode", args->mode, "cpu (default): on-CPU samples of every thread; wall: loop threads sampled whether they run or wait");
  sub->add_option("--stall-threshold", args->stall_threshold, "Busy periods of a loop longer than this are stalls (default 50ms)");
  sub->add_flag("--no-loop-health", args->no_loop_health, "Do not trace poll waits (loop utilization, stalls)");
  sub->add_option("--max-stacks", args->max_stacks, "Distinct stacks kept (default 100000; more are counted as overflow)");
  sub->add_option("--js-names", args->js_names,
                  "auto (default), heap, map or none: where JavaScript frames get their names (the target's heap "
                  "needs no flag; V8's perf map needs --perf-basic-prof)");
  sub->add_option("--unwind", args->unwind, "fp, dwarf or auto (default): how user stacks are walked");
  sub->add_option("--stack-size", args->stack_size, "Bytes of user stack copied per sample (default 32768 with --js-names auto/heap, else 8192)");
  sub->footer("Examples:\n  loopperf record -p 4242 -d 10s -o slow.pb.gz\n  loopperf record -o bench.pb.gz -- node bench.js");
  return Command{sub, [args](const CommandContext& ctx) -> Result<int> {
                   args->command = ctx.command;
                   if (args->quiet) log::set_level(log::Level::kQuiet);
                   auto cfg = make_record_config(*args, ::getpid());
                   if (!cfg) return cfg.error();
                   return run_record(*cfg);
                 }};
}

}  // namespace loopperf::cli
