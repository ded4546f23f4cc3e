#include <catch2/catch.hpp>

#include "diff_fixtures.h"
#include "loopperf/diff/diff.h"
#include "loopperf/loop/health.h"

using namespace loopperf;
using test::bench;
using test::DiffBuilder;

namespace {

const diff::Row* find(const diff::DiffResult& d, diff::Family f, const std::string& name,
                      const std::string& population = "") {
  for (const auto& r : d.rows)
    if (r.family == f && r.name == name && (population.empty() || r.population == population)) return &r;
  return nullptr;
}

std::vector<std::string> regressions(const diff::DiffResult& d) {
  std::vector<std::string> out;
  for (const auto& r : d.rows)
    if (r.verdict == diff::Verdict::kRegression)
      out.push_back(std::string(diff::family_name(r.family)) + " " + r.name);
  return out;
}

// The fixtures are exact counts with no run-to-run variation: most cases test the sampling model
// alone (run_noise 0); the run-noise cases say so.
constexpr diff::DiffOptions kSamplingOnly{.run_noise = 0};

diff::DiffResult run(const profile::Profile& a, const profile::Profile& b, diff::DiffOptions opt = kSamplingOnly) {
  auto d = diff::diff_profiles(a, b, opt);
  REQUIRE(d.ok());
  return std::move(*d);
}

}  // namespace

TEST_CASE("one function twice as expensive: it regresses, the others only shift relatively") {
  auto d = run(bench({3000, 3000, 2000, 1000, 1000}), bench({3000, 6000, 2000, 1000, 1000}));
  auto reg = regressions(d);
  CHECK(reg == std::vector<std::string>{"self score (bench.js)", "total score (bench.js)"});
  const auto* score = find(d, diff::Family::kSelf, "score (bench.js)");
  REQUIRE(score);
  CHECK(score->base_share == Approx(0.3));
  CHECK(score->head_share == Approx(6000.0 / 13000));
  CHECK(score->z > 10);
  // parse: 30% -> 23%, a significant 7 pp drop that only reflects score's growth.
  const auto* parse = find(d, diff::Family::kSelf, "parse (bench.js)");
  REQUIRE(parse);
  CHECK(parse->change == Approx(3000.0 / 13000 - 0.3));
  CHECK(parse->p_adjusted < 0.01);
  CHECK(parse->verdict == diff::Verdict::kRelative);
  CHECK(std::fabs(parse->rescaled_change) < 1e-9);
  REQUIRE(d.populations.size() == 2);
  CHECK(d.populations[0].name == "all threads");
  CHECK(d.populations[0].scale == Approx(10000.0 / 13000));
  CHECK(d.populations[0].scale_rows == 4);  // score disagrees with the others and is left out
  // main is in every stack: 100% on both sides has no variance, and nothing to test.
  CHECK(find(d, diff::Family::kTotal, "main (bench.js)")->verdict == diff::Verdict::kFewSamples);
  CHECK(d.count(diff::Verdict::kImprovement) == 0);
  CHECK(d.rows.front().verdict == diff::Verdict::kRegression);  // reported rows first
}

TEST_CASE("a function getting cheaper raises the others' shares, which is not a regression") {
  auto d = run(bench({3000, 3000, 2000, 1000, 1000}), bench({3000, 1500, 2000, 1000, 1000}));
  CHECK(regressions(d).empty());
  CHECK(find(d, diff::Family::kSelf, "score (bench.js)")->verdict == diff::Verdict::kImprovement);
  const auto* parse = find(d, diff::Family::kSelf, "parse (bench.js)");
  CHECK(parse->change > 0.03);
  CHECK(parse->verdict == diff::Verdict::kRelative);
}

TEST_CASE("identical profiles: nothing reported, rows are still tested") {
  auto d = run(bench({3000, 3000, 2000, 1000, 1000}), bench({3000, 3000, 2000, 1000, 1000}));
  CHECK(d.count(diff::Verdict::kRegression) + d.count(diff::Verdict::kImprovement) +
            d.count(diff::Verdict::kRelative) ==
        0);
  CHECK(d.tests == 10);  // self and total of the five; 100% rows (main, check, js) have no variance
  for (const auto& r : d.rows)
    if (r.tested) CHECK(r.z == Approx(0).margin(1e-9));
}

TEST_CASE("sampling noise of a few points in small profiles is not significant") {
  // 30% vs 36% of 200 samples: z = 1.27.
  auto d = run(bench({60, 60, 40, 20, 20}), bench({60, 72, 40, 20, 20}));
  CHECK(regressions(d).empty());
  CHECK(find(d, diff::Family::kSelf, "score (bench.js)")->verdict == diff::Verdict::kNotSignificant);
}

TEST_CASE("significant but below the threshold is not reported, a lower threshold reports it") {
  // 1.5 pp on 100k samples per side: z ~ 7, below 2 pp.
  auto base = bench({30000, 30000, 20000, 10000, 10000});
  auto head = bench({30000, 32000, 20000, 10000, 10000});
  auto d = run(base, head);
  const auto* score = find(d, diff::Family::kSelf, "score (bench.js)");
  CHECK(score->p_adjusted < 1e-6);
  CHECK(std::fabs(score->change) < 0.02);
  CHECK(score->verdict == diff::Verdict::kBelowThreshold);
  auto low = run(base, head, {.threshold = 0.01, .confidence = 0.99, .run_noise = 0});
  CHECK(find(low, diff::Family::kSelf, "score (bench.js)")->verdict == diff::Verdict::kRegression);
}

TEST_CASE("run-to-run noise: a share that moves by less than it varies between runs is not significant") {
  // score: 30% -> 33.3% on 100k samples a side. Sampling alone calls that z ~ 16; an unchanged share
  // that varies by 5% of itself between runs moves that much now and then (z ~ 1.6 then).
  auto base = bench({30000, 30000, 20000, 10000, 10000});
  auto head = bench({30000, 35000, 20000, 10000, 10000});
  auto exact = run(base, head);
  const auto* s0 = find(exact, diff::Family::kSelf, "score (bench.js)");
  CHECK(s0->z > 15);
  CHECK(s0->verdict == diff::Verdict::kRegression);
  auto noisy = run(base, head, {.run_noise = 0.05});
  const auto* s5 = find(noisy, diff::Family::kSelf, "score (bench.js)");
  CHECK(s5->z == Approx(1.6).margin(0.2));
  CHECK(s5->verdict == diff::Verdict::kNotSignificant);
  // A doubling stands out of that noise at any sample count: z ~ 5 on 1000 samples a side.
  auto doubled = run(bench({300, 300, 200, 100, 100}), bench({300, 600, 200, 100, 100}), {.run_noise = 0.05});
  CHECK(find(doubled, diff::Family::kSelf, "score (bench.js)")->verdict == diff::Verdict::kRegression);
  CHECK(diff::DiffOptions{}.run_noise == 0.02);  // the default (docs/diff.md)
}

TEST_CASE("rows that cannot reach the threshold are not tested, tiny counts are few-samples") {
  DiffBuilder a, b;
  // 0.5% of 1000 on both sides: a 2 pp change would need a share of 2% somewhere, which a pooled
  // share below 1% rules out with equal sample counts.
  a.add({"js:main@/x/app.js", "js:big@/x/app.js"}, 995).add({"js:main@/x/app.js", "js:tiny@/x/app.js"}, 5);
  b.add({"js:main@/x/app.js", "js:big@/x/app.js"}, 996).add({"js:main@/x/app.js", "js:tiny@/x/app.js"}, 4);
  auto d = run(a.p, b.p);
  const auto* tiny = find(d, diff::Family::kSelf, "tiny (app.js)");
  CHECK_FALSE(tiny->tested);
  CHECK(tiny->verdict == diff::Verdict::kBelowThreshold);
  DiffBuilder c, e;
  c.add({"js:main@/x/app.js", "js:a@/x/app.js"}, 3).add({"js:main@/x/app.js", "js:b@/x/app.js"}, 3);
  e.add({"js:main@/x/app.js", "js:a@/x/app.js"}, 5).add({"js:main@/x/app.js", "js:b@/x/app.js"}, 1);
  auto small = run(c.p, e.p);
  CHECK(find(small, diff::Family::kSelf, "a (app.js)")->verdict == diff::Verdict::kFewSamples);
  CHECK(small.tests == 0);
}

TEST_CASE("work moved from setImmediate to a timer is a phase change of the main loop") {
  auto d =
      run(bench({3000, 3000, 2000, 1000, 1000}, "check"), bench({3000, 3000, 2000, 1000, 1000}, "timers"));
  const auto* timers = find(d, diff::Family::kPhase, "timers", "main-loop");
  const auto* check = find(d, diff::Family::kPhase, "check", "main-loop");
  REQUIRE(timers);
  REQUIRE(check);
  CHECK(timers->base_share == 0);
  CHECK(timers->head_share == 1);
  CHECK(timers->verdict == diff::Verdict::kRegression);
  CHECK(check->verdict == diff::Verdict::kImprovement);
  CHECK(regressions(d) == std::vector<std::string>{"phase timers"});  // the functions did not change
}

TEST_CASE("more idle-wait is good news, more sync-io is a regression") {
  auto loop = [](int64_t js, int64_t idle, int64_t sync) {
    DiffBuilder b;
    b.add({"node::Start", "uv_run", "js:handler@/srv/app.js"}, js, "poll", "js");
    b.add({"node::Start", "uv_run", "uv__io_poll", "epoll_pwait"}, idle, "poll", "idle-wait");
    b.add({"node::Start", "uv_run", "js:handler@/srv/app.js", "uv_fs_read"}, sync, "poll", "sync-io");
    return b.p;
  };
  auto d = run(loop(5000, 3000, 2000), loop(5000, 4000, 1000));
  CHECK(find(d, diff::Family::kActivity, "idle-wait", "main-loop")->verdict == diff::Verdict::kImprovement);
  CHECK(find(d, diff::Family::kActivity, "sync-io", "main-loop")->verdict == diff::Verdict::kImprovement);
  auto worse = run(loop(5000, 3000, 2000), loop(5000, 2000, 3000));
  CHECK(find(worse, diff::Family::kActivity, "sync-io", "main-loop")->verdict == diff::Verdict::kRegression);
  CHECK(find(worse, diff::Family::kActivity, "idle-wait", "main-loop")->verdict !=
        diff::Verdict::kImprovement);
}

TEST_CASE("a worker loop in one profile only is skipped, with the reason") {
  DiffBuilder a, b;
  a.add({"js:main@/x/app.js"}, 1000);
  b.add({"js:main@/x/app.js"}, 1000)
      .add({"node::worker::Worker::Run", "js:job@/x/w.js"}, 500, "poll", "js", "worker-loop", 101);
  auto d = run(a.p, b.p);
  bool found = false;
  for (const auto& s : d.skipped)
    found |= s.what == "worker-loop phases and activities" && s.reason == "only in the head profile";
  CHECK(found);
}

TEST_CASE("loop utilization and stalls come from the main loop's health, and are skipped when absent") {
  auto a = bench({3000, 3000, 2000, 1000, 1000}), b = a;
  auto d = run(a, b);
  size_t loop_skips = 0;
  for (const auto& s : d.skipped)
    loop_skips += s.what.rfind("loop ", 0) == 0 && s.reason.find("not in either") == 0;
  CHECK(loop_skips == 2);

  // Written the way record writes them; the tids differ between the runs, the target pid says which
  // one is the main loop (a worker's health is ignored).
  auto health = [](int64_t tid, double utilization, uint64_t busy, uint64_t stalls, int64_t threshold_ms) {
    loop::LoopHealth h;
    h.tid = tid;
    h.observed_ns = 2'000'000'000;
    h.utilization = utilization;
    h.iterations = h.busy_count = busy;
    h.stall_count = stalls;
    h.stall_threshold_ns = threshold_ms * 1'000'000;
    return h;
  };
  a.set_meta("target.pid", "100");
  loop::store_loop_health(a, {health(100, 0.50, 2000, 10, 50), health(101, 0.99, 50, 0, 50)});
  b.set_meta("target.pid", "200");
  loop::store_loop_health(b, {health(200, 0.80, 2000, 12, 50)});
  auto m = run(a, b);
  const auto* u = find(m, diff::Family::kLoop, "utilization");
  REQUIRE(u);
  CHECK(u->base_count == Approx(1000));
  CHECK(u->change == Approx(0.3));
  CHECK(u->verdict == diff::Verdict::kRegression);
  const auto* st = find(m, diff::Family::kLoop, "stalls");
  REQUIRE(st);
  CHECK(st->base_share == Approx(0.005));
  CHECK(st->verdict != diff::Verdict::kRegression);

  loop::store_loop_health(b, {health(200, 0.50, 2000, 10, 100)});
  auto t = run(a, b);
  bool incomparable = false;
  for (const auto& s : t.skipped)
    incomparable |=
        s.what == "loop stalls" && s.reason == "recorded with different stall thresholds (50 ms and 100 ms)";
  CHECK(incomparable);
  CHECK(find(t, diff::Family::kLoop, "utilization"));
}

TEST_CASE("function keys ignore directories and lines, recursion counts once in total") {
  DiffBuilder a, b;
  a.add({"js:main@/ci/base/bench.js", "js:walk@/ci/base/bench.js", "js:walk@/ci/base/bench.js"}, 100);
  b.add({"js:main@/ci/head/bench.js", "js:walk@/ci/head/bench.js", "js:walk@/ci/head/bench.js"}, 100);
  auto d = run(a.p, b.p);
  const auto* walk = find(d, diff::Family::kTotal, "walk (bench.js)");
  REQUIRE(walk);
  CHECK(walk->base_count == 100);
  CHECK(walk->head_count == 100);
  const auto& loc = a.p.locations[0];
  CHECK(diff::function_key(a.p, loc, loc.lines[0]) == "walk (bench.js)");
  DiffBuilder n;
  n.add({"node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)", "js:readFileSync@node:fs"}, 1);
  CHECK(diff::function_key(n.p, n.p.locations[0], n.p.locations[0].lines[0]) == "readFileSync (node:fs)");
  CHECK(diff::function_key(n.p, n.p.locations[1], n.p.locations[1].lines[0]) == "node::fs::Read");
}

TEST_CASE("an interrupt counts for the code it interrupted, a system call keeps its kernel frames") {
  const std::vector<std::string> a = {"js:main@/x/app.js", "js:a@/x/app.js"};
  auto with = [](std::vector<std::string> v, std::vector<std::string> more) {
    v.insert(v.end(), more.begin(), more.end());
    return v;
  };
  DiffBuilder base, head;
  base.add(a, 500).add({"js:main@/x/app.js", "js:b@/x/app.js"}, 500);
  // A loaded runner: 10% of a's samples land in the timer interrupt's kernel path.
  head.add(a, 450).add(with(a, {"k:asm_sysvec_apic_timer_interrupt", "k:irqentry_exit_to_user_mode"}), 50);
  head.add({"js:main@/x/app.js", "js:b@/x/app.js"}, 500);
  auto d = run(base.p, head.p);
  CHECK(find(d, diff::Family::kSelf, "a (app.js)")->head_count == 500);
  CHECK(find(d, diff::Family::kSelf, "irqentry_exit_to_user_mode") == nullptr);
  CHECK(find(d, diff::Family::kTotal, "asm_sysvec_apic_timer_interrupt") == nullptr);
  CHECK(d.count(diff::Verdict::kRegression) + d.count(diff::Verdict::kImprovement) == 0);
  DiffBuilder sys;
  sys.add(with(a, {"k:entry_SYSCALL_64_after_hwframe", "k:do_syscall_64", "k:ksys_read"}), 10);
  auto s = run(sys.p, sys.p);
  CHECK(find(s, diff::Family::kSelf, "ksys_read")->base_count == 10);
  CHECK(find(s, diff::Family::kSelf, "a (app.js)")->base_count == 0);
}

TEST_CASE("V8's own code counts for the JavaScript that called it, not when native code called it") {
  const std::string main = "js:main@/x/app.js", f = "js:f@/x/app.js", g = "js:g@/x/app.js";
  DiffBuilder base, head;
  // The same work in f, landing in different inline caches, stubs and builtins in the two runs: one
  // process's V8 inlined and tiered differently. Its callback under a builtin stays its own.
  base.add({main, f, "Builtins_KeyedLoadIC_Megamorphic"}, 300).add({main, f}, 200).add({main, g}, 400);
  base.add({main, f, "Builtins_ArrayMap", "js:cb@/x/app.js"}, 100);
  head.add({main, f, "construct_stub_create_deopt_addr"}, 150).add({main, f, "jit?"}, 100);
  head.add({main, f, "Runtime_CompileLazy", "v8::internal::Compiler::Compile(v8::internal::Isolate*)"}, 50);
  head.add({main, f}, 200).add({main, g}, 400).add({main, f, "Builtins_ArrayMap", "js:cb@/x/app.js"}, 100);
  auto d = run(base.p, head.p);
  CHECK(find(d, diff::Family::kSelf, "f (app.js)")->base_count == 500);
  CHECK(find(d, diff::Family::kSelf, "f (app.js)")->head_count == 500);
  CHECK(find(d, diff::Family::kTotal, "f (app.js)")->head_count == 600);
  CHECK(find(d, diff::Family::kSelf, "cb (app.js)")->head_count == 100);
  for (const char* gone : {"Builtins_KeyedLoadIC_Megamorphic", "construct_stub_create_deopt_addr", "Builtins_ArrayMap",
                           "Runtime_CompileLazy", "v8::internal::Compiler::Compile", "[unknown] [jit]"}) {
    CHECK(find(d, diff::Family::kSelf, gone) == nullptr);
    CHECK(find(d, diff::Family::kTotal, gone) == nullptr);
  }
  CHECK(d.count(diff::Verdict::kRegression) + d.count(diff::Verdict::kImprovement) == 0);

  // Called from native code (node's binding, the compiler's own thread), or on the way to the
  // collector, V8 keeps its rows: the collector's cost is the program's allocation, not a JIT choice.
  DiffBuilder n;
  n.add({main, "node::Buffer::New(v8::Isolate*, unsigned long)", "v8::internal::Factory::NewJSArrayBuffer()"}, 10);
  n.add({main, f, "Builtins_AllocateInYoungGeneration", "v8::internal::Heap::CollectGarbage(int)"}, 20);
  auto o = run(n.p, n.p);
  CHECK(find(o, diff::Family::kSelf, "v8::internal::Factory::NewJSArrayBuffer")->base_count == 10);
  CHECK(find(o, diff::Family::kSelf, "v8::internal::Heap::CollectGarbage")->base_count == 20);
  CHECK(find(o, diff::Family::kTotal, "Builtins_AllocateInYoungGeneration") == nullptr);
  CHECK(find(o, diff::Family::kTotal, "f (app.js)")->base_count == 20);
}

TEST_CASE("profiles that cannot be compared are input errors with a hint") {
  auto a = bench({100, 100});
  auto other = a;
  other.sample_types = {{"alloc_space", "bytes"}, {"cpu", "nanoseconds"}};
  auto r = diff::diff_profiles(a, other, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInput);
  CHECK(r.error().message.find("samples/count, cpu/nanoseconds") != std::string::npos);
  CHECK(r.error().message.find("alloc_space/bytes") != std::string::npos);
  CHECK_FALSE(r.error().hint.empty());

  auto no_count = a;
  no_count.sample_types = {{"cpu", "nanoseconds"}, {"wall", "nanoseconds"}};
  auto nc = diff::diff_profiles(no_count, no_count, {});
  REQUIRE_FALSE(nc.ok());
  CHECK(nc.error().message.find("no sample counts") != std::string::npos);

  auto wall = a;
  wall.set_meta("mode", "wall");
  auto w = diff::diff_profiles(a, wall, {});
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().message.find("cpu mode, head in wall mode") != std::string::npos);

  auto empty = a;
  empty.samples.clear();
  auto e = diff::diff_profiles(a, empty, {});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message == "the head profile has no samples");
}

namespace {

diff::DiffResult runs(const std::vector<profile::Profile>& a, const std::vector<profile::Profile>& b,
                      diff::DiffOptions opt = {}) {
  std::vector<const profile::Profile*> pa, pb;
  for (const auto& p : a) pa.push_back(&p);
  for (const auto& p : b) pb.push_back(&p);
  auto d = diff::diff_runs(pa, pb, opt);
  REQUIRE(d.ok());
  return std::move(*d);
}

}  // namespace

TEST_CASE("several recordings per side: the run noise is measured, an odd run is no regression") {
  // Runs of ~1300 samples like the integration benchmark; head's second run has score at 37.5%
  // (the CI run that once failed a one-file-per-side diff), its others as base.
  std::vector<profile::Profile> base = {bench({530, 410, 135, 95, 65}), bench({540, 405, 130, 90, 70}),
                                        bench({525, 415, 140, 95, 60})};
  std::vector<profile::Profile> head = {bench({535, 410, 135, 90, 65}), bench({470, 490, 125, 90, 60}),
                                        bench({530, 405, 140, 95, 65})};
  auto one = run(base[0], head[1], {});  // the single pair: run noise assumed, a strong z
  CHECK(!one.runs_measured);
  CHECK(find(one, diff::Family::kSelf, "score (bench.js)")->z > 2.5);
  auto d = runs(base, head);
  CHECK(d.runs_measured);
  CHECK(d.base.runs == 3);
  CHECK(d.head.runs == 3);
  CHECK(d.count(diff::Verdict::kRegression) == 0);
  CHECK(d.count(diff::Verdict::kImprovement) == 0);
  const auto* score = find(d, diff::Family::kSelf, "score (bench.js)");
  REQUIRE(score);
  REQUIRE(score->base_runs.size() == 3);
  CHECK(score->head_runs[1].x == 490);
  CHECK(score->df > 0);
  CHECK(std::fabs(score->z) < 2);
  // The mean of the runs' shares.
  CHECK(score->head_share == Approx((410.0 / 1235 + 490.0 / 1235 + 405.0 / 1235) / 3).epsilon(1e-3));
}

TEST_CASE("several recordings per side: a doubled function is found, its siblings move only relatively") {
  std::vector<profile::Profile> base = {bench({530, 410, 135, 95, 65}), bench({540, 405, 130, 90, 70}),
                                        bench({525, 415, 140, 95, 60})};
  std::vector<profile::Profile> head = {bench({530, 820, 135, 95, 65}), bench({535, 815, 130, 90, 65}),
                                        bench({525, 830, 140, 90, 60})};
  auto d = runs(base, head);
  CHECK(regressions(d) == std::vector<std::string>{"self score (bench.js)", "total score (bench.js)"});
  CHECK(find(d, diff::Family::kSelf, "parse (bench.js)")->verdict == diff::Verdict::kRelative);
  CHECK(d.count(diff::Verdict::kImprovement) == 0);
  // One side of one recording against three: measured from the three, still found.
  auto mixed = runs({base[0]}, head);
  CHECK(mixed.runs_measured);
  CHECK(regressions(mixed) == std::vector<std::string>{"self score (bench.js)", "total score (bench.js)"});
}

TEST_CASE("several recordings per side: recordings of different kinds or modes are input errors") {
  auto wall = bench({100, 100, 100, 100, 100});
  wall.set_meta("mode", "wall");
  auto cpu = bench({100, 100, 100, 100, 100});
  std::vector<const profile::Profile*> base = {&cpu, &wall}, head = {&cpu};
  auto e = diff::diff_runs(base, head, {});
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == ErrorCode::kInput);
  CHECK(e.error().message == "base was recorded in cpu mode, another base recording in wall mode");
  auto none = diff::diff_runs({}, head, {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "the base side has no recordings");
}

namespace {

// A benchmark run as a loaded CI runner records it: the five functions in JavaScript and, in native
// code, node's start-up, the kernel and the collector: many small rows whose shares vary between
// runs far more than the functions' do. `noise` picks one of three patterns of those rows' sizes.
profile::Profile loaded_run(std::vector<int64_t> bench_counts, int noise) {
  static const char* names[] = {"parse", "score", "render", "hash", "sort"};
  static const char* natives[] = {"node::InitializeOncePerProcess", "PEM_ASN1_read_bio", "k:pvm_irq_enable",
                                  "v8::internal::Heap::Scavenge",   "k:clear_page_erms", "node::LoadEnvironment",
                                  "v8::internal::Compiler::Compile", "__memmove_avx_unaligned_erms"};
  static const int64_t sizes[3][8] = {{80, 70, 20, 30, 25, 40, 35, 18},
                                      {44, 38, 40, 16, 45, 22, 60, 30},
                                      {70, 55, 25, 45, 15, 35, 20, 40}};
  DiffBuilder b;
  for (size_t i = 0; i < 5; i++)
    b.add({"node::Start", "uv_run", "js:main@/ci/base/bench.js", std::string("js:") + names[i] + "@/ci/base/bench.js"},
          bench_counts[i]);
  for (size_t i = 0; i < 8; i++) b.add({"node::Start", natives[i]}, sizes[noise][i], "check", "native");
  return b.p;
}

}  // namespace

TEST_CASE("several recordings per side: small noisy rows do not hide a doubled big function") {
  // Shares and spreads as a loaded CI runner recorded them (the run that once failed
  // diff.test.js): the functions move by ~1-3% of their share, start-up rows by 30-50% of theirs.
  std::vector<profile::Profile> base = {loaded_run({530, 390, 135, 90, 60}, 0),
                                        loaded_run({545, 410, 130, 95, 62}, 1),
                                        loaded_run({525, 405, 140, 88, 58}, 2)};
  std::vector<profile::Profile> head = {loaded_run({535, 800, 130, 92, 60}, 1),
                                        loaded_run({528, 815, 138, 90, 62}, 2),
                                        loaded_run({540, 790, 133, 94, 59}, 0)};
  auto d = runs(base, head);
  // One point per self row and side (13 functions, each over 1%) and one for the two activities,
  // js and native, which are complements: 28.
  CHECK(d.noise.all.points() == 28);
  CHECK(d.noise.functions.points() == 26);
  CHECK(d.noise.aggregates.points() == 2);
  const auto* score = find(d, diff::Family::kSelf, "score (bench.js)");
  REQUIRE(score);
  const auto& all = d.populations[0];
  INFO("scale " << all.scale << " (se " << all.scale_se << ", " << all.scale_rows << " rows), run noise " << d.run_noise
                << ", score's " << score->run_noise << ", rescaled z " << score->rescaled_z);
  CHECK(score->verdict == diff::Verdict::kRegression);
  CHECK(score->z > 8);
  // The scale rests on the functions that did not change (score's rows left out): with the level
  // over all rows every function agreed with scale 1 +- 21% and score was only `relative`.
  CHECK(all.scale < 0.85);
  CHECK(all.scale_se < 0.1);
  // The level over all rows is the start-up rows' as much as the functions'; the big rows' own is
  // several times lower. With the overall level score's t would be less than two thirds of this.
  CHECK(score->run_noise < d.run_noise / 2);
  const auto* pem = find(d, diff::Family::kSelf, "PEM_ASN1_read_bio");
  REQUIRE(pem);
  CHECK(pem->run_noise > 2 * score->run_noise);
  // Activities are aggregates: their prior is their own kind's (here the one point of the activity
  // pair on each side), not the functions' of their size.
  const auto* native = find(d, diff::Family::kActivity, "native");
  REQUIRE(native);
  CHECK(native->run_noise == Approx(d.noise.aggregates.overall()));
  auto with_overall = diff::run_means_test(score->base_runs, score->head_runs, {}, d.run_noise, 4);
  CHECK(with_overall.z < score->z / 1.5);
  CHECK(d.count(diff::Verdict::kImprovement) == 0);
  for (const auto& r : d.rows)
    if (r.verdict == diff::Verdict::kRegression)
      CHECK((r.name == "score (bench.js)" || r.base_share > 0.5));
}
