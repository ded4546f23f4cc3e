#include "record_config.h"

#include "loopperf/common/duration.h"

namespace loopperf::cli {

Result<record::RecordConfig> make_record_config(const RecordArgs& args, pid_t self_pid) {
  record::RecordConfig cfg;
  if (args.pid.empty() == args.command.empty()) {
    return make_error(ErrorCode::kUsage,
                      args.pid.empty() ? "record needs a target: -p PID, or a command after --"
                                       : "give either -p PID or a command after --, not both",
                      "loopperf record -p 4242 -d 10s   or   loopperf record -- node app.js");
  }
  if (!args.pid.empty()) {
    auto pid = parse_int(args.pid, 1, 4194304, "pid");
    if (!pid) return pid.error();
    cfg.pid = static_cast<pid_t>(*pid);
    if (cfg.pid == self_pid)
      return make_error(ErrorCode::kUsage, "refusing to profile loopperf itself (pid " + args.pid + ")",
                        "give the pid of the node process, e.g. from `pgrep -a node`");
  }
  cfg.command = args.command;
  if (!args.duration.empty()) {
    auto d = parse_duration(args.duration);
    if (!d) return d.error();
    cfg.duration = *d;
  }
  if (!args.frequency.empty()) {
    // The kernel caps the rate at kernel.perf_event_max_sample_rate; above ~20 kHz the profiler's
    // own cost stops being negligible.
    auto f = parse_int(args.frequency, 1, 100000, "sampling rate (-F)");
    if (!f) return f.error();
    cfg.sampling.frequency_hz = static_cast<int>(*f);
  }
  auto js = symbols::parse_js_names_mode(args.js_names);
  if (!js) return js.error();
  cfg.sampling.js_names = *js;
  auto mode = unwind::parse_unwind_mode(args.unwind);
  if (!mode) return mode.error();
  cfg.sampling.unwind = *mode;
  // Heap names read each JavaScript frame's slots from the stack copy: node's native frames between
  // a system call and the JavaScript that made it (node 26's readFileSync, an HTTP parser callback)
  // take more than 8 KiB; 24 KiB named every frame of such stacks, 16 KiB 95% (docs/js-names.md).
  if (symbols::uses_heap(cfg.sampling.js_names)) cfg.sampling.stack_bytes = 32768;
  if (!args.stack_size.empty()) {
    // The kernel's limit for one stack copy is 65528 bytes (a record is at most 64 KiB).
    auto size = parse_int(args.stack_size, 512, 65528, "stack size (--stack-size)");
    if (!size) return size.error();
    cfg.sampling.stack_bytes = static_cast<uint32_t>(*size) & ~7u;
  }
  if (args.mode != "cpu" && args.mode != "wall")
    return make_error(ErrorCode::kUsage, "unknown mode '" + args.mode + "'", "use --mode cpu (default) or --mode wall");
  cfg.sampling.wall = args.mode == "wall";
  // Each wall sample stops a loop thread for ~40-80 us: 199 Hz keeps that near 1% of its time.
  if (cfg.sampling.wall && args.frequency.empty()) cfg.sampling.frequency_hz = 199;
  cfg.sampling.loop_health = !args.no_loop_health;
  if (!args.stall_threshold.empty()) {
    auto t = parse_duration(args.stall_threshold);
    if (!t) return t.error();
    cfg.sampling.stall_threshold_ns = t->count();
  }
  if (cfg.sampling.wall && cfg.sampling.frequency_hz > 4999)
    return make_error(ErrorCode::kUsage, "--mode wall stops the loop threads for each sample: at most -F 4999",
                      "use -F 999 (the default) or lower for wall mode");
  if (!args.max_stacks.empty()) {
    auto n = parse_int(args.max_stacks, 1000, 10'000'000, "distinct-stack limit (--max-stacks)");
    if (!n) return n.error();
    cfg.sampling.max_stacks = static_cast<size_t>(*n);
  }
  cfg.output = args.output;
  cfg.quiet = args.quiet;
  // Launch mode turns on node's perf map only where it is used.
  cfg.perf_map = !args.no_perf_map && symbols::uses_perf_map(*js);
  cfg.keep_perf_map = args.keep_perf_map;
  cfg.follow_children = args.command.empty() ? args.children : !args.no_children;
  cfg.sampling.kernel = !args.no_kernel;
  return cfg;
}

}  // namespace loopperf::cli
