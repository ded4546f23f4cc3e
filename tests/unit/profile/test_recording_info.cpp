// RecordingInfo: written in one place, read back in one place, the same values.
#include <catch2/catch.hpp>

#include "loopperf/profile/recording_info.h"

using namespace loopperf;
using profile::PerfMapInfo;
using profile::RecordingInfo;

TEST_CASE("recording info round-trips through the profile's metadata") {
  RecordingInfo in;
  in.tool = "loopperf 0.1.0";
  in.mode = "wall";
  in.pid = 4242;
  in.cmdline = "node app.js --port 80";
  in.is_node = true;
  in.node_version = "v22.11.0";
  in.rate_hz = 199;
  in.samples = 1990;
  in.lost = 3;
  in.threads = 11;
  in.threads_skipped = 1;
  in.stacks_overflowed = 2;
  in.kernel_frames = false;
  in.unwind = "auto";
  in.perf_map = {PerfMapInfo::State::kUsed, 120, "/tmp/perf-4242.map", ""};
  in.target_exited = true;
  in.phase_problem = "uv_run has no symbol";
  in.details = {{"unwind.end.complete", "1900"}, {"stacks.distinct", "77"}, {"wall.samples", "1990"}};
  profile::Profile p;
  p.set_meta("loop.4242.utilization", "0.5");  // not recording info: kept, not read
  profile::write_recording_info(p, in);
  CHECK(p.meta("perf_map") == "120 entries from /tmp/perf-4242.map");
  CHECK(p.meta("target.node") == "yes");
  CHECK(p.meta("loop.4242.utilization") == "0.5");
  CHECK(profile::read_recording_info(p) == in);
}

TEST_CASE("the perf map value reads back in each of its three forms") {
  PerfMapInfo used{PerfMapInfo::State::kUsed, 7, "/proc/99/root/tmp/perf-1.map", ""};
  PerfMapInfo ignored{PerfMapInfo::State::kIgnored, 0, "/tmp/perf-5.map", "older than the process: a stale map"};
  for (const PerfMapInfo& m : {used, ignored, PerfMapInfo{}})
    CHECK(profile::parse_perf_map(profile::format_perf_map(m)) == m);
  CHECK(profile::format_perf_map({}) == "none");
  CHECK(profile::parse_perf_map("/tmp/perf-9.map").state == PerfMapInfo::State::kUsed);
  // A container's map says where it was read.
  CHECK(profile::format_perf_map(used) ==
        "7 entries from /proc/99/root/tmp/perf-1.map (the target's /tmp, read through its mount namespace)");
}

TEST_CASE("a profile from another tool has an empty recording info") {
  profile::Profile p;
  p.set_meta("rate_hz", "not a number");
  RecordingInfo r = profile::read_recording_info(p);
  CHECK(r.rate_hz == 0);
  CHECK_FALSE(r.is_node.has_value());
  CHECK_FALSE(r.perf_map.has_value());
}
