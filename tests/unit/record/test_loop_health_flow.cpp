// Loop health from end to end: the tracker, record's resolve_stalls, the pprof file, build_report
// and both renderings.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "loopperf/formats/pprof.h"
#include "loopperf/loop/health.h"
#include "loopperf/record/finish.h"
#include "loopperf/report/report.h"

using namespace loopperf;
using profile::Function;
using profile::Label;
using profile::Location;
using profile::Profile;
using profile::Sample;

namespace {

constexpr uint64_t kStart = 5'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr int64_t kMain = 4242;
constexpr int64_t kWorker = 4250;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A profile whose samples are the StackTable entries the tracker refers to by index.
struct Fixture {
  Profile p;

  Fixture() {
    p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    p.mappings.push_back({0x400000, 0x3000000, 0, "/usr/bin/node", "", true, true, true});
    p.mappings.push_back({0x7f0000000000, 0x7f0000100000, 0, "[jit]", "", true, true, true});
    p.set_meta("target.node", "yes");
    p.set_meta("target.pid", std::to_string(kMain));
    p.set_meta("perf_map", "120 entries from /tmp/perf-4242.map");
  }
  uint64_t loc(const std::string& name, bool js, const std::string& file = "", int64_t line = 0) {
    p.functions.push_back(Function{name, js ? "JS:*" + name + " " + file + ":1" : name, file, line});
    Location l;
    l.mapping_id = js ? 2 : 1;
    l.address = 0x1000 + p.locations.size();
    l.lines.push_back({p.functions.size(), line, 0});
    p.locations.push_back(l);
    return p.locations.size();
  }
  // Root first.
  uint32_t add(int64_t tid, const std::vector<uint64_t>& root_first, int64_t count, const std::string& phase,
               const std::string& activity, const std::string& role) {
    Sample s;
    s.location_ids.assign(root_first.rbegin(), root_first.rend());
    s.values = {count, count * 1'000'000};
    s.labels = {Label{"thread", "node", 0, "", false}, Label{"tid", "", tid, "", true},
                Label{"phase", phase, 0, "", false}, Label{"activity", activity, 0, "", false},
                Label{"role", role, 0, "", false}};
    p.samples.push_back(s);
    return static_cast<uint32_t>(p.samples.size() - 1);
  }
};

// What `record` does: tracker -> resolve_stalls -> store -> pprof file -> report.
Profile recorded_profile() {
  Fixture f;
  uint64_t start = f.loc("node::Start(int, char**)", false);
  uint64_t uv_run = f.loc("uv_run", false);
  uint64_t timers = f.loc("uv__run_timers", false);
  uint64_t tick = f.loc("tick", true, "/srv/app.js", 3);
  uint64_t exec = f.loc("execSync", true, "node:child_process", 880);
  uint64_t spawn = f.loc("node::SyncProcessRunner::Spawn", false);
  uint64_t poll = f.loc("uv__io_poll", false);
  uint64_t handler = f.loc("handler", true, "/srv/app.js", 12);
  uint32_t blocking = f.add(kMain, {start, uv_run, timers, tick, exec, spawn}, 290, "timers", "sync-io", "main-loop");
  uint32_t light = f.add(kMain, {start, uv_run, poll, handler}, 30, "poll", "js", "main-loop");
  f.add(kWorker, {start, uv_run, poll, handler}, 5, "poll", "js", "worker-loop");

  loop::LoopHealthTracker t(kStart, 50 * static_cast<int64_t>(kMs));
  t.add_thread(kMain, true);
  t.add_thread(kWorker, true);
  uint64_t now = kStart;
  for (int i = 0; i < 100; i++) {  // 1 ms busy, 9 ms wait
    now += 9 * kMs;
    t.poll_exit(kMain, now, 12);
    t.sample(kMain, now, light, 1'000'000);
    now += 1 * kMs;
    t.poll_enter(kMain, now, 12);
  }
  now += 234 * kMs;
  t.poll_exit(kMain, now, 12);  // +1.234 s
  for (int i = 0; i < 290; i++) t.sample(kMain, now + static_cast<uint64_t>(i) * kMs, blocking, 1'000'000);
  t.sample(kMain, now + 1 * kMs, light, 1'000'000);
  now += 305'200'000;
  t.poll_enter(kMain, now, 12);
  now += 100 * kMs;
  auto health = t.finish(now);  // the worker waited throughout
  record::resolve_stalls(health, f.p);
  loop::store_loop_health(f.p, health);
  f.p.duration_nanos = static_cast<int64_t>(now - kStart);
  auto bytes = formats::encode_pprof(f.p);
  REQUIRE(bytes);
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back);
  return *back;
}

}  // namespace

TEST_CASE("loop health survives the pprof file and reaches the report") {
  Profile p = recorded_profile();
  CHECK(p.meta("loop.4242.stall.0.duration_ms") == "305.2");
  CHECK(p.meta("loop.4242.stall.0.start_ms") == "1234");
  auto health = loop::read_loop_health(p);
  REQUIRE(health.size() == 2);
  CHECK(health[0].tid == kMain);
  CHECK(health[0].iterations == 101);
  CHECK(health[0].busy_count == 101);
  CHECK(health[0].busy_max_ms == Approx(305.2));
  REQUIRE(health[0].stalls.size() == 1);
  CHECK(health[0].stalls[0].phase == "timers");
  CHECK(has(health[0].stalls[0].summary, "tick (app.js:3)"));
  CHECK(health[1].utilization == 0);

  auto r = report::build_report(p, {});
  REQUIRE(r);
  REQUIRE(r->threads.size() == 2);
  REQUIRE(r->threads[0].health);
  CHECK(r->threads[0].tid == kMain);
  CHECK(r->threads[0].health->utilization == Approx(health[0].utilization));
  REQUIRE(r->threads[1].health);

  bool stall_hint = false;
  for (const auto& h : r->hints)
    if (h.kind == "stall") {
      stall_hint = true;
      CHECK(has(h.text, "the main loop (node, tid 4242) was blocked for 305 ms at +1.2s in timers › tick (app.js:3)"));
    }
  CHECK(stall_hint);
}

TEST_CASE("the text report shows utilization, iterations/s, busy percentiles and the stall list") {
  auto r = report::build_report(recorded_profile(), {});
  REQUIRE(r);
  std::string text = report::render_text(*r, false);
  INFO(text);
  CHECK(has(text, "utilization 24.7%, 61.6 iterations/s (101 in "));  // (100 + 305.2 ms) busy of 1639.2 ms
  CHECK(has(text, "busy periods  101: p50 1.00 ms, p99"));
  CHECK(has(text, "max 305.2 ms"));
  CHECK(has(text, "stalls > 50 ms: 1\n"));
  CHECK(has(text, "    +1.234s      305.2 ms  timers › tick (app.js:3)"));
  CHECK(has(text, "utilization 0.0%"));  // the worker
}

TEST_CASE("the text report keeps the ten longest stalls, marks truncated ones") {
  Fixture f;
  loop::LoopHealth h;
  h.tid = kMain;
  h.observed_ns = 10'000'000'000;
  h.utilization = 0.9;
  h.busy_max_ms = 900;
  h.stall_threshold_ns = 100'000'000;
  h.stall_count = 1500;
  for (int i = 0; i < 12; i++)
    h.stalls.push_back({i * 1'000'000'000LL, (900 - i * 10) * 1'000'000LL, -1, i == 0, "", loop::kStallNoSamples});
  loop::store_loop_health(f.p, {h});
  auto r = report::build_report(f.p, {});
  REQUIRE(r);
  REQUIRE(r->threads.size() == 1);  // no samples: the thread comes from the health data alone
  CHECK(r->threads[0].role == profile::ThreadRole::kMainLoop);
  std::string text = report::render_text(*r, false);
  INFO(text);
  CHECK(has(text, "stalls > 100 ms: 1500 (the longest 12 kept)"));
  CHECK(has(text, "    +0.000s  ≥   900.0 ms  no samples during the stall"));
  CHECK(has(text, "    +9.000s      810.0 ms"));
  CHECK_FALSE(has(text, "+10.000s"));
  CHECK(has(text, "… 2 more (--format json lists them all)"));
  bool hinted = false;
  for (const auto& hint : r->hints)
    if (hint.kind == "stall") {
      hinted = true;
      CHECK(has(hint.text, "was blocked for at least 900 ms at +0.0s (no samples during the stall"));
      CHECK(has(hint.text, "1500 stalls > 100 ms in all"));
    }
  CHECK(hinted);
  std::string json = report::render_json(*r);
  size_t stalls = 0;
  for (size_t at = json.find("\"start_ms\""); at != std::string::npos; at = json.find("\"start_ms\"", at + 1)) stalls++;
  CHECK(stalls == 12);  // all of them in JSON
}

TEST_CASE("the JSON report gives each loop thread a loop object, only when there is health data") {
  auto r = report::build_report(recorded_profile(), {});
  REQUIRE(r);
  std::string json = report::render_json(*r);
  INFO(json);
  for (const char* field : {"\"loop\": {", "\"utilization\": 0.247194", "\"iterations_per_sec\": 61.615", "\"busy_p50_ms\": 1",
                            "\"busy_p99_ms\"", "\"busy_max_ms\": 305.2", "\"stalls\": [", "\"start_ms\": 1234",
                            "\"duration_ms\": 305.2", "\"phase\": \"timers\"", "\"summary\": \"timers › tick (app.js:3)",
                            "\"truncated\": false"})
    CHECK(has(json, field));

  Fixture plain;
  uint64_t l = plain.loc("handler", true, "/srv/app.js", 12);
  plain.add(kMain, {l}, 10, "poll", "js", "main-loop");
  auto r2 = report::build_report(plain.p, {});
  REQUIRE(r2);
  CHECK_FALSE(r2->threads[0].health);
  CHECK_FALSE(has(report::render_json(*r2), "\"loop\""));
  CHECK_FALSE(has(report::render_text(*r2, false), "busy periods"));
}

TEST_CASE("report --thread keeps the health of the selected thread only") {
  report::ReportOptions opts;
  opts.thread = "worker";
  auto r = report::build_report(recorded_profile(), opts);
  REQUIRE(r);
  REQUIRE(r->threads.size() == 1);
  REQUIRE(r->threads[0].health);
  CHECK(r->threads[0].tid == kWorker);
  for (const auto& h : r->hints) CHECK(h.kind != "stall");
}
