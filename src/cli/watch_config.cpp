#include "watch_config.h"

#include <cctype>

#include "loopperf/common/duration.h"

namespace loopperf::cli {

Result<uint64_t> parse_bytes(const std::string& text, const std::string& what) {
  const Error bad = make_error(ErrorCode::kUsage, "invalid " + what + " '" + text + "'", "give a size such as 256M, 1G or 500k");
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) i++;
  if (i == 0) return bad;
  const std::string unit = text.substr(i);
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB" || unit == "KB") scale = 1ull << 10;
  else if (unit == "M" || unit == "MiB" || unit == "MB") scale = 1ull << 20;
  else if (unit == "G" || unit == "GiB" || unit == "GB") scale = 1ull << 30;
  if (scale == 0) return bad;
  auto n = parse_int(text.substr(0, i), 1, 1ll << 40, what);
  if (!n) return bad;
  return static_cast<uint64_t>(*n) * scale;
}

Result<WatchCommandConfig> make_watch_config(const WatchArgs& args, pid_t self_pid) {
  WatchCommandConfig out;
  record::WatchConfig& cfg = out.watch;
  if (args.pid.empty() == args.command.empty()) {
    return make_error(ErrorCode::kUsage,
                      args.pid.empty() ? "watch needs a target: -p PID, or a command after --"
                                       : "give either -p PID or a command after --, not both",
                      "loopperf watch -p 4242 -o /var/log/stalls   or   loopperf watch -o stalls -- node server.js");
  }
  if (!args.pid.empty()) {
    auto pid = parse_int(args.pid, 1, 4194304, "pid");
    if (!pid) return pid.error();
    cfg.pid = static_cast<pid_t>(*pid);
    if (cfg.pid == self_pid)
      return make_error(ErrorCode::kUsage, "refusing to watch loopperf itself (pid " + args.pid + ")",
                        "give the pid of the node process, e.g. from `pgrep -a node`");
  }
  cfg.command = args.command;
  if (args.output.empty()) return make_error(ErrorCode::kUsage, "-o needs a directory", "loopperf watch -p PID -o DIR");
  cfg.dir = args.output;
  const auto duration = [](const std::string& text, std::chrono::nanoseconds min, const char* what,
                           std::chrono::nanoseconds& into) -> Status {
    if (text.empty()) return {};
    auto d = parse_duration(text);
    if (!d) return d.error();
    if (*d < min)
      return make_error(ErrorCode::kUsage, std::string(what) + " must be at least " + format_duration(min),
                        "e.g. --stall 200ms --keep 30s --max-capture 10s");
    into = *d;
    return {};
  };
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  // A stall shorter than two of the flight recorder's steps (20 ms) could not be told from a busy turn.
  if (auto st = duration(args.stall, milliseconds(20), "--stall", cfg.stall); !st) return st.error();
  if (auto st = duration(args.keep, seconds(0), "--keep", cfg.keep); !st) return st.error();
  if (auto st = duration(args.max_capture, milliseconds(100), "--max-capture", cfg.max_capture); !st) return st.error();
  if (!args.duration.empty()) {
    std::chrono::nanoseconds d{};
    if (auto st = duration(args.duration, milliseconds(1), "-d", d); !st) return st.error();
    cfg.duration = d;
  }
  // The capture's rate: wall samples stop the stuck thread once per blocking episode, so the rate
  // bounds what a stall of many short waits (a readFileSync loop) costs it.
  cfg.sampling.frequency_hz = 499;
  if (!args.frequency.empty()) {
    auto f = parse_int(args.frequency, 1, 4999, "capture rate (-F)");
    if (!f) return f.error();
    cfg.sampling.frequency_hz = static_cast<int>(*f);
  }
  if (!args.idle_rate.empty()) {
    auto f = parse_int(args.idle_rate, 1, 999, "flight recorder rate (--idle-rate)");
    if (!f) return f.error();
    cfg.idle_rate_hz = static_cast<int>(*f);
  }
  if (cfg.idle_rate_hz > cfg.sampling.frequency_hz)
    return make_error(ErrorCode::kUsage, "--idle-rate is above the capture's rate (-F)", "e.g. --idle-rate 49 -F 499");
  if (!args.max_incidents.empty()) {
    auto n = parse_int(args.max_incidents, 1, 100000, "incidents per hour (--max-incidents)");
    if (!n) return n.error();
    cfg.max_incidents = static_cast<int>(*n);
  }
  if (!args.max_bytes.empty()) {
    auto n = parse_bytes(args.max_bytes, "disk budget (--max-bytes)");
    if (!n) return n.error();
    cfg.max_bytes = *n;
  }
  auto js = symbols::parse_js_names_mode(args.js_names);
  if (!js) return js.error();
  cfg.sampling.js_names = *js;
  if (symbols::uses_heap(*js)) cfg.sampling.stack_bytes = 32768;  // as record (record_config.cpp)
  auto mode = unwind::parse_unwind_mode(args.unwind);
  if (!mode) return mode.error();
  cfg.sampling.unwind = *mode;
  cfg.sampling.kernel = !args.no_kernel;
  cfg.sampling.stall_threshold_ns = cfg.stall.count();
  out.json = args.json;
  out.quiet = args.quiet;
  return out;
}

}  // namespace loopperf::cli
