// loopperf's entry point: parses the command line into plain config structs and calls the
// commands. The only place where errors become messages and exit statuses.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "loopperf/common/log.h"
#include "signals.h"

using namespace loopperf;

static int report_error(const Error& e) {
  log::error(e.message, e.hint);
  return static_cast<int>(e.code);
}

static int finish(const Result<int>& r) { return r.ok() ? r.value() : report_error(r.error()); }

int main(int argc, char** argv) {
  // Everything after the first `--` is the command to launch; CLI11 never sees it, so the
  // command's own flags (node --inspect, --iterations 100) are not taken for ours.
  std::vector<std::string> command;
  int our_argc = argc;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--") == 0) {
      our_argc = i;
      for (int j = i + 1; j < argc; j++) command.emplace_back(argv[j]);
      break;
    }
  }

  CLI::App app{"loopperf: out-of-process sampling profiler for Node.js event loops"};
  app.set_version_flag("--version", "loopperf " LOOPPERF_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug messages");

  cli::RecordArgs rec;
  auto* record = app.add_subcommand("record", "Sample a running process (-p PID) or a command (-- CMD ...)");
  record->add_option("-p,--pid", rec.pid, "Process id to attach to");
  record->add_option("-d,--duration", rec.duration, "How long to record: 500ms, 10s, 2m (default: until Ctrl-C or exit)");
  record->add_option("-o,--output", rec.output, "Output file (default loopperf-PID-YYYYmmdd-HHMMSS.pb.gz)");
  record->add_option("-F,--frequency", rec.frequency, "Samples per second per thread (default 999)");
  record->add_flag("-q,--quiet", rec.quiet, "Print nothing but errors");
  record->add_flag("--no-perf-map", rec.no_perf_map, "Launch mode: do not turn on node's --perf-basic-prof");
  record->add_flag("--keep-perf-map", rec.keep_perf_map, "Launch mode: keep /tmp/perf-PID.map after the run");
  record->add_flag("--no-kernel", rec.no_kernel, "Record user-space frames only");
  record->footer("Examples:\n  loopperf record -p 4242 -d 10s -o slow.pb.gz\n  loopperf record -o bench.pb.gz -- node bench.js");

  try {
    app.parse(our_argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ErrorCode::kUsage);
  }
  if (verbose) log::set_level(log::Level::kVerbose);

  if (record->parsed()) {
    rec.command = command;
    if (rec.quiet) log::set_level(log::Level::kQuiet);
    auto cfg = cli::make_record_config(rec, ::getpid());
    if (!cfg) return report_error(cfg.error());
    cli::install_stop_handlers();
    return finish(cli::run_record(*cfg));
  }
  if (!command.empty()) return report_error(make_error(ErrorCode::kUsage, "a command after -- needs `record`"));
  return static_cast<int>(ErrorCode::kUsage);
}
