// FlightRecorder: the window kept, the hold of an incident in progress, the byte budget; and the
// incident file names.
#include <catch2/catch.hpp>

#include <regex>
#include <vector>

#include "loopperf/record/flight_recorder.h"
#include "loopperf/record/incident.h"

using namespace loopperf;
using record::FlightRecorder;

namespace {
constexpr uint64_t kT0 = 7'000'000'000'000, kMs = 1'000'000, kSec = 1000 * kMs;

void keep(FlightRecorder& f, uint64_t t, size_t depth = 40) {
  std::vector<profile::Frame> frames(depth, profile::Frame{0x401000, false, 0});
  record::KeptSample s;
  s.tid = 7;
  s.time_ns = t;
  s.frames = frames;
  s.period = 20 * kMs;
  f.kept(s);
}
}  // namespace

TEST_CASE("the flight recorder keeps the last `keep` of samples and poll events, and what an incident holds") {
  FlightRecorder f(30 * kSec, 64 << 20);
  for (uint64_t t = 0; t < 60 * kSec; t += 100 * kMs) {
    keep(f, kT0 + t);
    f.poll_event(sample::PollEvent{7, kT0 + t, true, 9, 0});
  }
  f.trim(kT0 + 60 * kSec, UINT64_MAX);
  REQUIRE(!f.samples().empty());
  CHECK(f.samples().front().time_ns >= kT0 + 30 * kSec);
  CHECK(f.polls().front().time_ns >= kT0 + 30 * kSec);
  CHECK(f.samples().size() == 300);
  CHECK(f.samples().front().frames.size() == 40);
  // An incident that began at 40 s holds its window (from 10 s before it here) against later trims.
  f.trim(kT0 + 90 * kSec, kT0 + 35 * kSec);
  CHECK(f.samples().front().time_ns >= kT0 + 35 * kSec);
  CHECK(f.samples().front().time_ns < kT0 + 36 * kSec);
  CHECK(f.oldest(kT0 + 90 * kSec) == f.samples().front().time_ns);
  CHECK(f.dropped() == 0);
}

TEST_CASE("over its byte budget the flight recorder forgets the oldest first and counts them") {
  FlightRecorder f(3600 * kSec, 256 << 10);
  for (uint64_t i = 0; i < 2000; i++) keep(f, kT0 + i * kMs);
  CHECK(f.bytes() <= 256u << 10);
  CHECK(f.dropped() > 0);
  CHECK(f.samples().back().time_ns == kT0 + 1999 * kMs);  // the newest stay
  CHECK(f.samples().size() + f.dropped() == 2000);
  for (uint64_t i = 0; i < 20000; i++) f.poll_event(sample::PollEvent{7, kT0 + 2 * kSec + i, i % 2 == 0, 9, 0});
  CHECK(f.bytes() <= 256u << 10);
  CHECK(f.dropped_polls() > 0);
}

TEST_CASE("incident files are named by trigger, start (ISO 8601 basic, UTC) and duration") {
  record::WatchContext ctx;
  ctx.realtime_offset_ns = 1'780'000'000'000'000'000LL - static_cast<int64_t>(kT0);  // 2026-05-28T20:26:40Z
  record::Incident inc;
  inc.start_ns = kT0 + 123 * kMs;
  inc.end_ns = inc.start_ns + 1830 * kMs;
  CHECK(record::incident_file_name(inc, ctx) == "stall-20260528T202640.123Z-1830ms.pb.gz");
  inc.trigger = record::Trigger::kSigterm;
  CHECK(std::regex_match(record::incident_file_name(inc, ctx), std::regex(R"(sigterm-\d{8}T\d{6}\.\d{3}Z-1830ms\.pb\.gz)")));
  for (auto t : {record::Trigger::kStall, record::Trigger::kSigterm, record::Trigger::kSnapshot, record::Trigger::kExit, record::Trigger::kStop})
    CHECK(!record::trigger_name(t).empty());
}
