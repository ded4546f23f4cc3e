#include "loopperf/profile/recording_info.h"

#include <charconv>

namespace loopperf::profile {

namespace {

// The keys, in the order they are written (docs/labels.md).
constexpr std::string_view kTool = "tool", kMode = "mode", kPid = "target.pid", kCmdline = "target.cmdline",
                           kNode = "target.node", kNodeVersion = "target.node_version", kRate = "rate_hz",
                           kSamples = "samples", kLost = "lost", kThreads = "threads",
                           kThreadsSkipped = "threads_skipped", kOverflowed = "stacks_overflowed",
                           kKernel = "kernel_frames", kUnwind = "unwind", kPerfMap = "perf_map",
                           kExited = "target_exited", kPhaseProblem = "phase_problem";
// Prefixes of the keys that make up RecordingInfo::details.
constexpr std::string_view kDetailPrefixes[] = {"unwind.end.", "stacks.", "symbols.", "wall.", "loop_health."};

bool is_detail(std::string_view key) {
  for (auto prefix : kDetailPrefixes)
    if (key.starts_with(prefix)) return true;
  return false;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::optional<bool> parse_yes_no(std::string_view s) {
  if (s == "yes") return true;
  if (s == "no") return false;
  return std::nullopt;
}

template <typename T>
T number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : T{};
}

}  // namespace

namespace {
// A perf map read through /proc/PID/root: the target's own /tmp, in its mount namespace (a
// container's), said in so many words.
constexpr std::string_view kThroughNamespace = " (the target's /tmp, read through its mount namespace)";
bool through_namespace(std::string_view path) {
  return path.starts_with("/proc/") && path.find("/root/") != std::string_view::npos;
}
}  // namespace

std::string format_perf_map(const PerfMapInfo& m) {
  switch (m.state) {
    case PerfMapInfo::State::kUsed:
      return std::to_string(m.entries) + " entries from " + m.path +
             (through_namespace(m.path) ? std::string(kThroughNamespace) : std::string());
    case PerfMapInfo::State::kIgnored: return "ignored " + m.path + ": " + m.problem;
    case PerfMapInfo::State::kNone: break;
  }
  return "none";
}

PerfMapInfo parse_perf_map(std::string_view text) {
  PerfMapInfo m;
  if (text.starts_with("ignored ")) {
    text.remove_prefix(8);
    // The path is /tmp/perf-PID.map or /proc/PID/root/tmp/perf-NSPID.map: no ": " inside.
    size_t colon = text.find(": ");
    m.state = PerfMapInfo::State::kIgnored;
    m.path = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) m.problem = std::string(text.substr(colon + 2));
    return m;
  }
  if (text == "none") return m;
  m.state = PerfMapInfo::State::kUsed;
  size_t from = text.find(" entries from ");
  if (from != std::string_view::npos) {
    m.entries = number<uint64_t>(text.substr(0, from));
    std::string_view path = text.substr(from + 14);
    if (path.ends_with(kThroughNamespace)) path.remove_suffix(kThroughNamespace.size());
    m.path = std::string(path);
  } else {
    m.path = std::string(text);
  }
  return m;
}

void write_recording_info(Profile& p, const RecordingInfo& info) {
  auto put = [&](std::string_view key, std::string value) { p.set_meta(std::string(key), std::move(value)); };
  put(kTool, info.tool);
  put(kMode, info.mode);
  put(kPid, std::to_string(info.pid));
  put(kCmdline, info.cmdline);
  put(kNode, info.is_node ? yes_no(*info.is_node) : "");
  put(kNodeVersion, info.node_version);
  put(kRate, std::to_string(info.rate_hz));
  put(kSamples, std::to_string(info.samples));
  put(kLost, std::to_string(info.lost));
  put(kThreads, std::to_string(info.threads));
  put(kThreadsSkipped, std::to_string(info.threads_skipped));
  put(kOverflowed, std::to_string(info.stacks_overflowed));
  put(kKernel, info.kernel_frames ? yes_no(*info.kernel_frames) : "");
  put(kUnwind, info.unwind);
  if (info.perf_map) put(kPerfMap, format_perf_map(*info.perf_map));
  put(kExited, yes_no(info.target_exited));
  if (!info.phase_problem.empty()) put(kPhaseProblem, info.phase_problem);
  for (const auto& [k, v] : info.details) put(k, v);
}

RecordingInfo read_recording_info(const Profile& p) {
  RecordingInfo r;
  for (const auto& [key, value] : p.metadata) {
    if (key == kTool) r.tool = value;
    else if (key == kMode) r.mode = value;
    else if (key == kPid) r.pid = number<int64_t>(value);
    else if (key == kCmdline) r.cmdline = value;
    else if (key == kNode) r.is_node = parse_yes_no(value);
    else if (key == kNodeVersion) r.node_version = value;
    else if (key == kRate) r.rate_hz = number<int64_t>(value);
    else if (key == kSamples) r.samples = number<uint64_t>(value);
    else if (key == kLost) r.lost = number<uint64_t>(value);
    else if (key == kThreads) r.threads = number<uint64_t>(value);
    else if (key == kThreadsSkipped) r.threads_skipped = number<uint64_t>(value);
    else if (key == kOverflowed) r.stacks_overflowed = number<uint64_t>(value);
    else if (key == kKernel) r.kernel_frames = parse_yes_no(value);
    else if (key == kUnwind) r.unwind = value;
    else if (key == kPerfMap) r.perf_map = parse_perf_map(value);
    else if (key == kExited) r.target_exited = value == "yes";
    else if (key == kPhaseProblem) r.phase_problem = value;
    else if (is_detail(key)) r.details.emplace_back(key, value);
  }
  return r;
}

}  // namespace loopperf::profile
