// libFuzzer target: the values a user types (durations, rates, pids, sizes) and the text of
// /proc/PID/maps, which changes underneath loopperf while it reads. Input layout: fields separated
// by NUL bytes, then (after the last NUL) a maps text.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "loopperf/common/duration.h"
#include "loopperf/process/maps.h"
#include "record_config.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string> split_fields(std::string_view data, std::string& rest) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (fields.size() < 12) {
    size_t nul = data.find('\0', pos);
    if (nul == std::string_view::npos) break;
    fields.emplace_back(data.substr(pos, nul - pos));
    pos = nul + 1;
  }
  rest = std::string(data.substr(pos));
  return fields;
}

std::string field(const std::vector<std::string>& f, size_t i) { return i < f.size() ? f[i] : std::string(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);
  std::string maps_text;
  std::vector<std::string> f = split_fields(data, maps_text);

  // Each field through each value parser: whatever they accept must be in range.
  for (const std::string& s : f) {
    if (auto d = loopperf::parse_duration(s)) check(d->count() > 0);
    if (auto n = loopperf::parse_int(s, 1, 100000, "rate")) check(*n >= 1 && *n <= 100000);
    (void)loopperf::format_duration(std::chrono::nanoseconds(static_cast<int64_t>(s.size()) << (s.size() % 40)));
  }
  if (auto d = loopperf::parse_duration(maps_text)) check(d->count() > 0);

  // `record`'s options as the CLI hands them over (strings, before validation).
  loopperf::cli::RecordArgs args;
  args.pid = field(f, 0);
  args.duration = field(f, 1);
  args.frequency = field(f, 2);
  args.stack_size = field(f, 3);
  if (f.size() > 4) args.unwind = f[4];
  if (f.size() > 5) args.mode = f[5];
  args.stall_threshold = field(f, 6);
  args.output = field(f, 7);
  if (f.size() > 8 && !f[8].empty()) args.command = {f[8], field(f, 9)};
  args.max_stacks = field(f, 11);
  uint8_t flags = f.size() > 10 && !f[10].empty() ? static_cast<uint8_t>(f[10][0]) : 0;
  args.quiet = flags & 1;
  args.no_perf_map = flags & 2;
  args.keep_perf_map = flags & 4;
  args.no_kernel = flags & 8;
  args.no_loop_health = flags & 16;
  auto cfg = loopperf::cli::make_record_config(args, ::getpid());
  if (cfg) {
    check(cfg->pid >= 0 && cfg->pid != ::getpid());
    check((cfg->pid == 0) != cfg->command.empty());
    check(cfg->sampling.frequency_hz >= 1 && cfg->sampling.frequency_hz <= 100000);
    check(!cfg->sampling.wall || cfg->sampling.frequency_hz <= 4999);
    check(cfg->sampling.stack_bytes >= 512 && cfg->sampling.stack_bytes <= 65528 && cfg->sampling.stack_bytes % 8 == 0);
    check(!cfg->duration || cfg->duration->count() > 0);
    check(cfg->sampling.stall_threshold_ns > 0);
  } else {
    check(!cfg.error().message.empty());
  }

  // /proc/PID/maps: whatever parses is sorted and well-formed, and find_map agrees with it.
  auto maps = loopperf::process::parse_maps(maps_text);
  for (size_t i = 0; i < maps.size(); i++) {
    check(maps[i].start < maps[i].end);
    if (i > 0) check(maps[i - 1].start <= maps[i].start);
    (void)maps[i].clean_path();
    (void)maps[i].is_file_backed();
  }
  for (const auto& m : maps) {
    const auto* hit = loopperf::process::find_map(maps, m.start);
    check(hit != nullptr && hit->start <= m.start && m.start < hit->end);
    (void)loopperf::process::find_map(maps, m.end - 1);
  }
  return 0;
}
