// `loopperf watch` options and what only a terminal or a log shipper sees: the signals and one line
// (or one JSON object) per incident on stdout. The watching itself is the record stage's (record/watch.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "loopperf/common/log.h"
#include "loopperf/process/stop_watchdog.h"
#include "loopperf/record/watch.h"
#include "signals.h"
#include "watch_config.h"

namespace loopperf::cli {

namespace {

Result<int> run_watch(const WatchCommandConfig& cfg) {
  install_stop_handlers();
  install_snapshot_handler();
  // Captures stop threads with ptrace: a SIGSTOP of loopperf must not hold one (stop_watchdog.h).
  process::start_stop_watchdog();
  install_job_control();
  record::WatchHooks hooks;
  hooks.take_signal = [] {
    PendingSignal s = take_signal();
    return record::StopRequest{s.signo, s.from_terminal};
  };
  const bool json = cfg.json;
  hooks.incident = [json](const record::Incident& inc, const record::IncidentResult& r, const record::WatchContext& ctx) {
    // One line per incident, flushed at once: a log shipper reads it as it comes.
    std::string line = json ? r.json(inc, ctx) : r.verdict + "  -> " + r.file;
    std::fprintf(stdout, "%s\n", line.c_str());
    std::fflush(stdout);
  };
  hooks.watching = [](const std::string& what) { log::info(what); };
  return record::run_watch(cfg.watch, hooks);
}

}  // namespace

Command register_watch(CLI::App& app) {
  auto args = std::make_shared<WatchArgs>();
  auto* sub = app.add_subcommand("watch", "Watch a process (-p PID) or a command (-- CMD ...) and capture its event-loop stalls as they happen");
  sub->add_option("-p,--pid", args->pid, "Process id to watch");
  sub->add_option("-o,--output", args->output, "Directory for the incident files (default: the current one; created when missing)");
  sub->add_option("--stall", args->stall, "A loop out of its poll wait longer than this is a stall (default 200ms)");
  sub->add_option("--keep", args->keep, "The flight recorder's window before an incident (default 30s)");
  sub->add_option("--max-capture", args->max_capture, "An incident is written at most this long after it began (default 10s)");
  sub->add_option("-F,--frequency", args->frequency, "Samples per second of the stuck thread while captured (default 499)");
  sub->add_option("--idle-rate", args->idle_rate, "Samples per second per thread in the flight recorder (default 49)");
  sub->add_option("--max-incidents", args->max_incidents, "Stall incidents written per hour at most (default 20)");
  sub->add_option("--max-bytes", args->max_bytes, "Incident files kept in the directory, oldest removed first (default 256M)");
  sub->add_option("-d,--duration", args->duration, "Watch this long (default: until Ctrl-C, SIGTERM or the target's exit)");
  sub->add_flag("--json", args->json, "One JSON object per incident on stdout instead of a line");
  sub->add_flag("-q,--quiet", args->quiet, "Print only the incidents and errors");
  sub->add_flag("--no-kernel", args->no_kernel, "Record user-space frames only");
  sub->add_option("--js-names", args->js_names, "auto (default), heap, map or none: where JavaScript frames get their names");
  sub->add_option("--unwind", args->unwind, "fp, dwarf or auto (default): how user stacks are walked");
  sub->footer("Examples:\n  loopperf watch -p 4242 -o /var/log/stalls\n  loopperf watch --json -o stalls -- node server.js\n"
              "  kill -USR1 <loopperf's pid>    # a snapshot of the last --keep now");
  return Command{sub, [args](const CommandContext& ctx) -> Result<int> {
                   args->command = ctx.command;
                   auto cfg = make_watch_config(*args, ::getpid());
                   if (!cfg) return cfg.error();
                   if (cfg->quiet) log::set_level(log::Level::kQuiet);
                   return run_watch(*cfg);
                 }};
}

}  // namespace loopperf::cli
