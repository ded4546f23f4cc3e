// `loopperf record` options.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "commands.h"
#include "loopperf/common/log.h"
#include "signals.h"

namespace loopperf::cli {

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
  sub->add_flag("--no-kernel", args->no_kernel, "Record user-space frames only");
  sub->add_option("--mode", args->mode, "cpu (default): on-CPU samples of every thread; wall: loop threads sampled whether they run or wait");
  sub->add_option("--stall-threshold", args->stall_threshold, "Busy periods of a loop longer than this are stalls (default 50ms)");
  sub->add_flag("--no-loop-health", args->no_loop_health, "Do not trace poll waits (loop utilization, stalls)");
  sub->add_option("--max-stacks", args->max_stacks, "Distinct stacks kept (default 100000; more are counted as overflow)");
  sub->add_option("--unwind", args->unwind, "fp, dwarf or auto (default): how user stacks are walked");
  sub->add_option("--stack-size", args->stack_size, "Bytes of user stack copied per sample for dwarf/auto (default 8192)");
  sub->footer("Examples:\n  loopperf record -p 4242 -d 10s -o slow.pb.gz\n  loopperf record -o bench.pb.gz -- node bench.js");
  return Command{sub, [args](const CommandContext& ctx) -> Result<int> {
                   args->command = ctx.command;
                   if (args->quiet) log::set_level(log::Level::kQuiet);
                   auto cfg = make_record_config(*args, ::getpid());
                   if (!cfg) return cfg.error();
                   install_stop_handlers();
                   return run_record(*cfg);
                 }};
}

}  // namespace loopperf::cli
