#include <catch2/catch.hpp>

#include "loopperf/formats/pprof.h"
#include "loopperf/report/dump.h"
#include "loopperf/report/report.h"

using namespace loopperf;
using profile::Function;
using profile::Label;
using profile::Location;
using profile::Profile;
using profile::Sample;

namespace {

// Builds profiles stack by stack: frames are given root first, as people read them.
struct Builder {
  Profile p;
  Builder() {
    p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    p.mappings.push_back({0x400000, 0x3000000, 0, "/usr/bin/node", "", true, true, true});
    p.mappings.push_back({0x7f0000000000, 0x7f0000100000, 0, "[jit]", "", true, true, true});
    p.mappings.push_back({0x7e0000000000, 0x7e0000200000, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6", "", true, true, true});
    p.set_meta("target.node", "yes");
    p.set_meta("perf_map", "120 entries from /tmp/perf-1.map");
  }
  uint64_t fn(const std::string& name, const std::string& file = "", int64_t line = 0, const std::string& sys = "") {
    for (size_t i = 0; i < p.functions.size(); i++)
      if (p.functions[i].name == name && p.functions[i].file == file) return i + 1;
    p.functions.push_back(Function{name, sys.empty() ? name : sys, file, line});
    return p.functions.size();
  }
  // "js:name@file:line" for JS frames, "libc:name" for libc, else a native frame in node.
  uint64_t loc(const std::string& spec) {
    Location l;
    if (spec.rfind("js:", 0) == 0) {
      std::string rest = spec.substr(3);
      std::string name = rest.substr(0, rest.find('@'));
      std::string where = rest.find('@') == std::string::npos ? "" : rest.substr(rest.find('@') + 1);
      std::string file = where.substr(0, where.rfind(':'));
      int64_t line = where.empty() ? 0 : std::stoll(where.substr(where.rfind(':') + 1));
      l.mapping_id = 2;
      l.lines.push_back({fn(name, file, line, "JS:*" + name + " " + where + ":1"), line, 0});
    } else if (spec.rfind("libc:", 0) == 0) {
      l.mapping_id = 3;
      l.lines.push_back({fn(spec.substr(5)), 0, 0});
    } else {
      l.mapping_id = 1;
      l.lines.push_back({fn(spec), 0, 0});
    }
    l.address = 0x1000 + p.locations.size();
    p.locations.push_back(l);
    return p.locations.size();
  }
  void add(int64_t tid, std::vector<std::string> root_first, int64_t count, const std::string& phase,
           const std::string& activity, const std::string& role = "main-loop") {
    Sample s;
    for (auto it = root_first.rbegin(); it != root_first.rend(); ++it) s.location_ids.push_back(loc(*it));
    s.values = {count, count * 1000000};
    s.labels = {Label{"thread", "node", 0, "", false}, Label{"tid", "", tid, "", true},
                Label{"phase", phase, 0, "", false}, Label{"activity", activity, 0, "", false},
                Label{"role", role, 0, "", false}};
    p.samples.push_back(s);
  }
};

const std::vector<std::string> kPollRoot = {"node::Start(int, char**)", "uv_run", "uv__io_poll", "uv__stream_io",
                                            "js:parserOnHeadersComplete@node:_http_common:71",
                                            "js:emit@node:events:517"};

std::vector<std::string> with(std::vector<std::string> base, std::vector<std::string> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

}  // namespace

TEST_CASE("short_name drops parameters and return types but keeps templates and namespaces") {
  CHECK(report::short_name("node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)") == "node::fs::Read");
  CHECK(report::short_name("v8::internal::MaybeHandle<v8::internal::Object> v8::internal::(anonymous namespace)::"
                           "HandleApiCallHelper<false>(v8::internal::Isolate*)") ==
        "v8::internal::(anonymous namespace)::HandleApiCallHelper<false>");
  CHECK(report::short_name("node::(anonymous namespace)::PlatformWorkerThread(void*)") ==
        "node::(anonymous namespace)::PlatformWorkerThread");
  CHECK(report::short_name("Foo::operator()(int) const") == "Foo::operator()");
  CHECK(report::short_name("uv_fs_read") == "uv_fs_read");
  CHECK(report::short_name("[unknown] libc.so.6") == "[unknown] libc.so.6");
}

TEST_CASE("a readFileSync blocker reads phase › user function › API › libuv call") {
  Builder b;
  b.add(1, with(kPollRoot, {"js:handler@/srv/app.js:30", "js:authMiddleware@/srv/app.js:17",
                            "js:readFileSync@node:fs:450", "js:tryReadSync@node:fs:420",
                            "node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)", "uv_fs_read",
                            "uv__fs_work", "libc:read"}),
        34, "poll", "sync-io");
  std::string summary = report::summarize_stack(b.p, b.p.samples[0], "poll", "sync-io");
  CHECK(summary == "poll › handler (app.js:30) › authMiddleware › readFileSync › uv_fs_read");
}

TEST_CASE("pure JS blockers end at the innermost JS function, long chains are elided") {
  Builder b;
  b.add(1, with(kPollRoot, {"js:a@/x/app.js:1", "js:b@/x/app.js:2", "js:c@/x/app.js:3", "js:d@/x/app.js:4",
                            "js:e@/x/app.js:5", "js:f@/x/app.js:6"}),
        1, "timers", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[0], "timers", "js") == "timers › a (app.js:1) › … › e › f");
}

TEST_CASE("with a framework: the user's frame first, then the call it made, then the innermost JavaScript") {
  Builder b;
  // Express calling the user's middleware, which calls readFileSync.
  b.add(1, with(kPollRoot, {"js:app@/srv/node_modules/express/lib/express.js:37",
                            "js:handle@/srv/node_modules/router/index.js:300",
                            "js:next@/srv/node_modules/router/index.js:210",
                            "js:authMiddleware@/srv/auth.js:17", "js:readFileSync@node:fs:441", "uv_fs_read"}),
        1, "poll", "sync-io");
  CHECK(report::summarize_stack(b.p, b.p.samples[0], "poll", "sync-io") ==
        "poll › authMiddleware (auth.js:17) › readFileSync › uv_fs_read");
  // The user's handler calling a library that works through its own functions.
  b.add(1, with(kPollRoot, {"js:preRouting@/srv/node_modules/fastify/fastify.js:836", "js:handler@/srv/server.js:11",
                            "js:check@/srv/server.js:20", "js:hashSync@/srv/node_modules/bcryptjs/index.js:120",
                            "js:_crypt@/srv/node_modules/bcryptjs/index.js:700",
                            "js:_encipher@/srv/node_modules/bcryptjs/index.js:500"}),
        1, "poll", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[1], "poll", "js") ==
        "poll › handler (server.js:11) › check › hashSync › … › _encipher");
  // No package on the stack: as before, the outermost user frame and the innermost ones.
  b.add(1, with(kPollRoot, {"js:handler@/srv/server.js:11", "js:check@/srv/server.js:20"}), 1, "poll", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[2], "poll", "js") == "poll › handler (server.js:11) › check");
}

TEST_CASE("gc blockers name the GC entry, others the JavaScript API the builtin implements") {
  Builder b;
  b.add(1, with(kPollRoot, {"js:parse@/x/app.js:9", "Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit",
                            "v8::internal::Builtin_HandleApiCall(int, unsigned long*, v8::internal::Isolate*)",
                            "v8::internal::Builtin_JsonParse(int, unsigned long*, v8::internal::Isolate*)",
                            "v8::internal::JsonParser<unsigned char>::ParseJson()",
                            "v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace)",
                            "v8::internal::Heap::PerformGarbageCollection()"}),
        1, "poll", "gc");
  CHECK(report::summarize_stack(b.p, b.p.samples[0], "poll", "gc") ==
        "poll › parse (app.js:9) › v8::internal::Heap::CollectGarbage");
  CHECK(report::summarize_stack(b.p, b.p.samples[0], "poll", "native") ==
        "poll › parse (app.js:9) › JSON.parse");
}

TEST_CASE("V8's own frames belong to the JavaScript that called them, OpenSSL to node::crypto's entry") {
  Builder b;
  // An inline-cache miss and a deoptimization stub under the user's function: nothing native to show.
  b.add(1, with(kPollRoot, {"js:handler@/srv/app.js:30", "js:score@/srv/app.js:41", "Builtins_KeyedLoadIC_Megamorphic",
                            "Builtins_CEntry_Return1_ArgvOnStack_NoBuiltinExit",
                            "v8::internal::Runtime_KeyedLoadIC_Miss(int, unsigned long*, v8::internal::Isolate*)",
                            "v8::internal::LookupIterator::Next()"}),
        1, "poll", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[0], "poll", "js") == "poll › handler (app.js:30) › score");
  b.add(1, with(kPollRoot, {"js:handler@/srv/app.js:30", "construct_stub_create_deopt_addr"}), 1, "poll", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[1], "poll", "js") == "poll › handler (app.js:30)");
  // A builtin behind String.prototype.replace: named by what the JavaScript called.
  b.add(1, with(kPollRoot, {"js:render@/srv/app.js:50", "Builtins_StringPrototypeReplace", "Builtins_RegExpReplace",
                            "Builtins_RegExpExecInternal"}),
        1, "poll", "js");
  CHECK(report::summarize_stack(b.p, b.p.samples[2], "poll", "js") ==
        "poll › render (app.js:50) › String.prototype.replace");
  // V8 leading on to node's own code (an accessor node implements): node's code is shown.
  b.add(1, with(kPollRoot, {"js:config@/srv/app.js:60", "Builtins_LoadIC", "v8::internal::Runtime_LoadIC_Miss",
                            "node::credentials::SafeGetenv(char const*, std::string*, node::Environment*)"}),
        1, "poll", "native");
  CHECK(report::summarize_stack(b.p, b.p.samples[3], "poll", "native") ==
        "poll › config (app.js:60) › node::credentials::SafeGetenv");
  // No JavaScript: OpenSSL's leaf stands for node::crypto's entry that called it.
  b.add(1, {"node::Start(int, char**)", "uv_run", "uv__io_poll", "node::crypto::NewRootCertStore()",
            "node::crypto::UseExtraCaCerts(std::string const&)", "X509_STORE_add_cert", "OPENSSL_LH_retrieve"},
        1, "poll", "native");
  CHECK(report::summarize_stack(b.p, b.p.samples[4], "poll", "native") == "poll › node::crypto::UseExtraCaCerts");
}

TEST_CASE("build_report: shares per thread, blockers heaviest first without idle-wait, hints") {
  Builder b;
  b.add(10, with(kPollRoot, {"js:handler@/srv/app.js:30", "js:readFileSync@node:fs:450", "uv_fs_read"}), 30, "poll",
        "sync-io");
  b.add(10, with(kPollRoot, {"js:handler@/srv/app.js:30", "js:validate@/srv/app.js:50"}), 50, "poll", "js");
  b.add(10, {"node::Start(int, char**)", "uv_run", "uv__io_poll", "libc:epoll_pwait"}, 20, "poll", "idle-wait");
  b.add(11, {"libc:start_thread", "node::(anonymous namespace)::PlatformWorkerThread(void*)",
             "v8::internal::ConcurrentMarking::Run()"},
        7, "outside-loop", "gc", "v8-platform");
  auto r = report::build_report(b.p, {});
  REQUIRE(r.ok());
  REQUIRE(r->threads.size() == 2);
  CHECK(r->threads[0].tid == 10);  // loop threads first
  CHECK(r->threads[0].samples == 100);
  CHECK(r->threads[0].phases[0].name == "poll");
  CHECK(r->threads[0].activities[0].name == "js");
  CHECK(r->threads[0].activities[0].share == Approx(0.5));
  REQUIRE(r->blockers.size() == 2);  // idle-wait and the platform thread are not blockers
  CHECK(r->blockers[0].summary == "poll › handler (app.js:30) › validate");
  CHECK(r->blockers[0].share == Approx(0.5));
  CHECK(r->blockers[1].activity == "sync-io");
  CHECK(r->blockers[1].frames.front().name == "uv_fs_read");  // leaf first
  bool sync_hint = false;
  for (const auto& h : r->hints) sync_hint |= h.kind == "sync-io";
  CHECK(sync_hint);

  report::ReportOptions only_platform;
  only_platform.thread = "11";
  auto r2 = report::build_report(b.p, only_platform);
  REQUIRE(r2.ok());
  CHECK(r2->threads.size() == 1);
  only_platform.thread = "nope";
  auto r3 = report::build_report(b.p, only_platform);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().code == ErrorCode::kUsage);
}

TEST_CASE("blockers of several loop threads are ordered by the share the list shows") {
  Builder b;
  // The main loop: 200 samples, a blocker of 60 (30%). A worker: 50 samples, a blocker of 40 (80%).
  b.add(10, with(kPollRoot, {"js:handler@/srv/app.js:30"}), 60, "poll", "js");
  b.add(10, {"node::Start(int, char**)", "uv_run", "uv__io_poll", "libc:epoll_pwait"}, 140, "poll", "idle-wait");
  b.add(12, with(kPollRoot, {"js:crunch@/srv/worker.js:5"}), 40, "poll", "js", "worker-loop");
  b.add(12, {"node::Start(int, char**)", "uv_run", "uv__io_poll", "libc:epoll_pwait"}, 10, "poll", "idle-wait",
        "worker-loop");
  auto r = report::build_report(b.p, {});
  REQUIRE(r.ok());
  REQUIRE(r->blockers.size() == 2);
  CHECK(r->blockers[0].tid == 12);
  CHECK(r->blockers[0].share == Approx(0.8));
  CHECK(r->blockers[1].tid == 10);
  CHECK(r->blockers[1].share == Approx(0.3));
}

TEST_CASE("missing JS names are hinted") {
  Builder b;
  b.p.set_meta("perf_map", "none");
  b.add(10, with(kPollRoot, {"[unknown] [jit]"}), 5, "poll", "js");
  auto r = report::build_report(b.p, {});
  REQUIRE(r.ok());
  REQUIRE_FALSE(r->hints.empty());
  CHECK(r->hints[0].kind == "missing-js-names");
  CHECK(r->hints[0].text.find("--perf-basic-prof") != std::string::npos);
}

TEST_CASE("profiles without loopperf labels still report, as one thread") {
  Builder b;
  Sample s;
  s.location_ids = {static_cast<uint32_t>(b.loc("main"))};
  s.values = {3, 3000};
  b.p.samples.push_back(s);
  auto r = report::build_report(b.p, {});
  REQUIRE(r.ok());
  REQUIRE(r->threads.size() == 1);
  CHECK(r->threads[0].samples == 3);
  CHECK(r->blockers.size() == 1);  // no loop threads: blockers over all threads
}

TEST_CASE("the JSON report has the documented fields and is valid JSON text") {
  Builder b;
  b.add(10, with(kPollRoot, {"js:handler@/srv/app \"quoted\".js:30"}), 5, "poll", "js");
  auto r = report::build_report(b.p, {});
  REQUIRE(r.ok());
  std::string json = report::render_json(*r);
  for (const char* field : {"\"threads\"", "\"tid\"", "\"role\"", "\"phases\"", "\"activities\"", "\"blockers\"",
                            "\"summary\"", "\"share\"", "\"frames\"", "\"hints\"", "\"recording\""})
    CHECK(json.find(field) != std::string::npos);
  CHECK(json.find("app \\\"quoted\\\".js") != std::string::npos);
  std::string text = report::render_text(*r, true);
  CHECK(text.find("Top blockers") != std::string::npos);
  CHECK(text.find("handler") != std::string::npos);
}

TEST_CASE("dump --children: several dumps, text one after another, JSON under processes") {
  report::Dump a, b;
  a.pid = 10;
  a.cmdline = "node primary.js";
  b.pid = 11;
  b.cmdline = "node worker.js";
  const std::string text = report::render_dumps_text({a, b});
  CHECK(text.rfind("pid 10  node primary.js\n", 0) == 0);
  CHECK(text.find("\n\npid 11  node worker.js\n") != std::string::npos);
  std::string json = report::render_dumps_json({a, b});
  std::erase_if(json, [](char c) { return c == ' ' || c == '\n'; });
  CHECK(json.rfind("{\"processes\":[{\"pid\":10,", 0) == 0);
  CHECK(json.find("{\"pid\":11,") != std::string::npos);
}

TEST_CASE("group_stacks: stacks that differ below their summary are one group, weighed together") {
  // watch's verdict: a stall's many stacks (each crypto leaf at its own address) against one heavy
  // sample of the handler; the stall's group is the heaviest, its frames its heaviest stack's.
  Builder b;
  for (int i = 0; i < 5; i++)
    b.add(10, with(kPollRoot, {"js:handler@/srv/app.js:30", "js:authMiddleware@/srv/auth.js:17", "node::crypto::Run"}), 1,
          "poll", "native");
  b.add(10, with(kPollRoot, {"js:handler@/srv/app.js:30"}), 1, "poll", "js");
  b.add(11, with(kPollRoot, {"js:handler@/srv/app.js:30"}), 1, "poll", "js");
  auto weight = [](size_t i) -> std::optional<uint64_t> { return i < 5 ? 2 + i : 9; };
  auto all = report::group_stacks(b.p, weight, {});
  REQUIRE(all.size() == 2);
  CHECK(all[0].summary == "poll › handler (app.js:30) › authMiddleware › node::crypto::Run");
  CHECK(all[0].weight == 2 + 3 + 4 + 5 + 6);
  CHECK(all[0].heaviest == 4u);
  CHECK(all[0].activity == "native");
  CHECK(all[1].weight == 18);  // the handler's samples of both threads
  CHECK(all[1].tid == 0);
  auto by_thread = report::group_stacks(b.p, weight, {.by_thread = true});
  REQUIRE(by_thread.size() == 3);
  CHECK(by_thread[0].tid == 10);
}

TEST_CASE("group_stacks: only the first max_groups by rank are kept, ties by order seen") {
  Builder b;
  for (int i = 0; i < 6; i++) b.add(10 + i, with(kPollRoot, {"js:f" + std::to_string(i) + "@/srv/app.js:1"}), 1, "poll", "js");
  auto weight = [](size_t i) -> std::optional<uint64_t> { return i == 3 ? 50 : 10 + i; };
  auto top = report::group_stacks(b.p, weight, {.by_thread = true, .max_groups = 2});
  REQUIRE(top.size() == 2);
  CHECK(top[0].weight == 50);
  CHECK(top[0].tid == 13);
  CHECK(top[1].weight == 15);
  // Ranked by share of a thread: thread 10's one group is all of its samples.
  auto share = [](int64_t tid, uint64_t w) { return tid == 10 ? 1.0 : static_cast<double>(w) / 1000; };
  auto by_share = report::group_stacks(b.p, weight, {.by_thread = true, .max_groups = 1, .rank = share});
  REQUIRE(by_share.size() == 1);
  CHECK(by_share[0].tid == 10);
  // Equal ranks: the group seen first.
  auto same = [](int64_t, uint64_t) { return 1.0; };
  auto tie = report::group_stacks(b.p, weight, {.by_thread = true, .max_groups = 1, .rank = same});
  REQUIRE(tie.size() == 1);
  CHECK(tie[0].tid == 10);
  // Whatever the cut, the groups kept are the first ones of the whole list, in its order (`report
  // --top 2` lists the first two of what `--top 10` lists; ties at the cut once broke that).
  auto tied = [](int64_t tid, uint64_t) { return tid == 13 ? 2.0 : 1.0; };
  auto whole = report::group_stacks(b.p, weight, {.by_thread = true, .rank = tied});
  REQUIRE(whole.size() == 6);
  CHECK(whole[0].tid == 13);
  for (size_t n = 1; n <= 6; n++) {
    auto cut = report::group_stacks(b.p, weight, {.by_thread = true, .max_groups = n, .rank = tied});
    REQUIRE(cut.size() == n);
    for (size_t i = 0; i < n; i++) CHECK(cut[i].tid == whole[i].tid);
  }
  CHECK(report::group_stacks(b.p, weight, {.max_groups = 0}).empty());
}
