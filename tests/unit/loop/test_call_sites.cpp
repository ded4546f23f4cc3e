// CallSiteTable::build on synthetic uv_run machine code: direct calls (e8 rel32) to fake phase
// functions, indirect calls (ff /2) for the inlined pending / closing-handles phases, filler
// between them, in the loop-body orders of libuv >= 1.45 (timers at the end of the iteration) and
// 1.44 (timers at the loop top).
#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "loopperf/loop/call_sites.h"

using loopperf::loop::CallSiteTable;
using loopperf::profile::Phase;
using loopperf::profile::phase_name;
using loopperf::loop::phase_of_callee;
using loopperf::loop::UvRunCode;

namespace {

constexpr uint64_t kUvRun = 0x18ac720;

// Fake symbol addresses (the "binary" around uv_run). Raw names, some with GCC clone suffixes.
const std::map<uint64_t, std::string> kSymbols = {
    {0x18c0a80, "uv__hrtime"},
    {0x18a8bc0, "uv__run_timers"},
    {0x18b4450, "uv__run_idle"},
    {0x18b40b0, "uv__run_prepare"},
    {0x18c0120, "uv__io_poll"},
    {0x0b9b4e7, "uv__io_poll.cold"},
    {0x18ab8d0, "uv__metrics_update_idle_time"},
    {0x18b4280, "uv__run_check"},
    {0x18b9040, "uv__stream_destroy"},
    {0x18bc7e0, "uv__udp_finish_close.isra.0"},
    {0x18a8b80, "uv__next_timeout"},
    {0x1234560, "some_helper"},
};

uint64_t addr_of(const std::string& name) {
  for (const auto& [a, n] : kSymbols)
    if (n == name) return a;
  FAIL("no fake symbol " << name);
  return 0;
}

// Emits uv_run-like code and remembers the return offset of every call it emits.
struct Asm {
  std::vector<uint8_t> b;
  std::map<std::string, std::vector<uint64_t>> returns;  // label -> return offsets

  uint64_t here() const { return b.size(); }
  Asm& filler(size_t n) {  // mov/test/jcc-like bytes that contain no e8/ff
    static const uint8_t kPattern[] = {0x48, 0x8b, 0x43, 0x48, 0x4c, 0x39, 0xf0, 0x74, 0x10, 0x90};
    for (size_t i = 0; i < n; i++) b.push_back(kPattern[i % sizeof kPattern]);
    return *this;
  }
  Asm& call(const std::string& callee, const std::string& label = "") {
    uint64_t target = addr_of(callee);
    int32_t rel = static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(kUvRun + here() + 5));
    b.push_back(0xe8);
    uint8_t r[4];
    std::memcpy(r, &rel, 4);
    b.insert(b.end(), r, r + 4);
    returns[label.empty() ? callee : label].push_back(here());
    return *this;
  }
  // call *-0x8(%rax): a watcher / request callback (uv__run_pending's w->cb)
  Asm& call_mem(const std::string& label) {
    b.insert(b.end(), {0xff, 0x50, 0xf8});
    returns[label].push_back(here());
    return *this;
  }
  // call *%rax: the close callback (uv__finish_close's handle->close_cb)
  Asm& call_reg(const std::string& label) {
    b.insert(b.end(), {0xff, 0xd0});
    returns[label].push_back(here());
    return *this;
  }
  uint64_t ret(const std::string& label, size_t i = 0) const { return returns.at(label).at(i); }
  UvRunCode code() const {
    UvRunCode c;
    c.start = kUvRun;
    c.bytes = b;
    c.symbol_at = [](uint64_t vaddr) {
      auto it = kSymbols.find(vaddr);
      return it == kSymbols.end() ? std::string() : it->second;
    };
    return c;
  }
};

// libuv 1.45+ (node 20: 1.46.0), laid out like node 20's uv_run (see node-internals.md 1.3).
Asm libuv_146() {
  Asm a;
  a.filler(0x5a)
      .call("uv__hrtime", "pre-loop hrtime")  // uv__update_time (inlined) before the first timers
      .filler(0x1b)
      .call("uv__run_timers", "pre-loop timers")
      .filler(0x60)
      .call_mem("pending")  // inlined uv__run_pending
      .filler(0x10)
      .call("uv__run_idle")
      .filler(3)
      .call("uv__run_prepare")
      .filler(0x47)  // uv__backend_timeout, uv__metrics_inc_loop_count (inlined)
      .call("uv__io_poll")
      .filler(0x5e)
      .call_mem("post-poll pending")  // <= 8 rounds of uv__run_pending
      .filler(0x12)
      .call("uv__metrics_update_idle_time")
      .filler(3)
      .call("uv__run_check")
      .filler(0x64)  // uv__run_closing_handles / uv__finish_close, inlined
      .call("uv__stream_destroy")
      .filler(0x44)
      .call_reg("close cb")
      .filler(0x9)
      .call("uv__hrtime", "end hrtime")
      .filler(0x1b)
      .call("uv__run_timers", "end timers")
      .filler(0x5a)  // loop condition, jump back
      .call("uv__udp_finish_close.isra.0", "cold udp close")  // out-of-line close path
      .filler(0x80)
      .call("uv__next_timeout", "cold next timeout")  // out-of-line uv__backend_timeout
      .filler(0x30)
      .call("uv__hrtime", "not alive hrtime")
      .filler(0x20);
  return a;
}

// libuv 1.40-1.44: update_time + timers at the top of every iteration; UV_RUN_ONCE runs timers
// again after closing handles. `post_poll_pending` (1.44.2+), `once_timers` optional.
Asm libuv_144(bool post_poll_pending, bool once_timers) {
  Asm a;
  a.filler(0x20)
      .call("uv__hrtime", "top hrtime")
      .filler(0x10)
      .call("uv__run_timers", "top timers")
      .filler(0x30)
      .call_mem("pending")
      .filler(0x10)
      .call("uv__run_idle")
      .filler(3)
      .call("uv__run_prepare")
      .filler(0x20)
      .call("uv__io_poll");
  if (post_poll_pending) a.filler(0x30).call_mem("post-poll pending");
  a.filler(0x10).call("uv__run_check").filler(0x40).call_reg("close cb");
  if (once_timers) a.filler(0x10).call("uv__hrtime", "once hrtime").filler(0x8).call("uv__run_timers", "once timers");
  a.filler(0x20);
  return a;
}

std::string ph(Phase p) { return std::string(phase_name(p)); }

}  // namespace

TEST_CASE("phase_of_callee: the phase functions a direct call names", "[loop][call_sites]") {
  CHECK(phase_of_callee("uv__run_timers") == Phase::kTimers);
  CHECK(phase_of_callee("uv__run_pending") == Phase::kPending);
  CHECK(phase_of_callee("uv__run_idle") == Phase::kIdle);
  CHECK(phase_of_callee("uv__run_prepare") == Phase::kPrepare);
  CHECK(phase_of_callee("uv__io_poll") == Phase::kPoll);
  CHECK(phase_of_callee("uv__next_timeout") == Phase::kPoll);
  CHECK(phase_of_callee("uv__run_check") == Phase::kCheck);
  CHECK(phase_of_callee("uv__run_closing_handles") == Phase::kClose);
  CHECK(phase_of_callee("uv__finish_close") == Phase::kClose);
  CHECK(phase_of_callee("uv__stream_destroy") == Phase::kClose);
  CHECK(phase_of_callee("uv__udp_finish_close") == Phase::kClose);
  // Not phase functions: the clock, metrics, anything else.
  CHECK_FALSE(phase_of_callee("uv__hrtime"));
  CHECK_FALSE(phase_of_callee("uv__metrics_update_idle_time"));
  CHECK_FALSE(phase_of_callee("uv__run_timers2"));
  CHECK_FALSE(phase_of_callee("uv__io_poll.cold"));  // callers strip clone suffixes first
  CHECK_FALSE(phase_of_callee(""));
}

TEST_CASE("CallSiteTable: libuv >= 1.45 order (pre-loop timers, end-of-iteration timers)", "[loop][call_sites]") {
  const Asm a = libuv_146();
  CallSiteTable t = CallSiteTable::build(a.code());
  INFO(t.problem());
  REQUIRE(t.usable());

  // Direct calls: every e8 to a named function, clone suffix removed, nothing else.
  std::vector<std::string> callees;
  for (const auto& s : t.direct_calls()) callees.push_back(s.callee);
  CHECK(callees == std::vector<std::string>{"uv__hrtime", "uv__run_timers", "uv__run_idle", "uv__run_prepare",
                                            "uv__io_poll", "uv__metrics_update_idle_time", "uv__run_check",
                                            "uv__stream_destroy", "uv__hrtime", "uv__run_timers",
                                            "uv__udp_finish_close", "uv__next_timeout", "uv__hrtime"});
  CHECK(t.direct_calls()[1].return_offset == a.ret("pre-loop timers"));

  // Return addresses of the calls (caller frames).
  CHECK(ph(t.phase_at(a.ret("pre-loop hrtime"))) == "timers");
  CHECK(ph(t.phase_at(a.ret("pre-loop timers"))) == "timers");
  CHECK(ph(t.phase_at(a.ret("pending"))) == "pending");
  CHECK(ph(t.phase_at(a.ret("uv__run_idle"))) == "idle");
  CHECK(ph(t.phase_at(a.ret("uv__run_prepare"))) == "prepare");
  CHECK(ph(t.phase_at(a.ret("uv__io_poll"))) == "poll");
  CHECK(ph(t.phase_at(a.ret("post-poll pending"))) == "pending");
  CHECK(ph(t.phase_at(a.ret("uv__metrics_update_idle_time"))) == "poll");
  CHECK(ph(t.phase_at(a.ret("uv__run_check"))) == "check");
  CHECK(ph(t.phase_at(a.ret("uv__stream_destroy"))) == "close");
  CHECK(ph(t.phase_at(a.ret("close cb"))) == "close");
  CHECK(ph(t.phase_at(a.ret("end hrtime"))) == "timers");  // update_time belongs to the end timers
  CHECK(ph(t.phase_at(a.ret("end timers"))) == "timers");
  // Out-of-line blocks after the loop body: the callee decides, not the position.
  CHECK(ph(t.phase_at(a.ret("cold udp close"))) == "close");
  CHECK(ph(t.phase_at(a.ret("cold next timeout"))) == "poll");

  // Leaf pcs between the calls: the region's phase.
  CHECK(ph(t.phase_at(a.ret("pending") - 10)) == "pending");       // dequeuing the pending queue
  CHECK(ph(t.phase_at(a.ret("uv__run_prepare") + 8)) == "poll");   // computing the poll timeout
  CHECK(ph(t.phase_at(a.ret("post-poll pending") + 4)) == "pending");
  CHECK(ph(t.phase_at(a.ret("uv__run_check") + 8)) == "close");    // walking closing_handles
  CHECK(ph(t.phase_at(a.ret("close cb") + 2)) == "close");
  CHECK(ph(t.phase_at(a.ret("end hrtime") - 6)) == "close");       // last byte before the clock call
  CHECK(ph(t.phase_at(a.ret("end timers") + 0x10)) == "timers");   // loop condition after the timers

  // Outside the code.
  CHECK(ph(t.phase_at(a.b.size() + 1)) == "unknown");
  CHECK(ph(t.phase_at(a.b.size())) != "unknown");  // a call may return to the very end
}

TEST_CASE("CallSiteTable: libuv 1.44 order (timers at the loop top)", "[loop][call_sites]") {
  for (bool post_poll : {false, true}) {
    for (bool once : {false, true}) {
      DYNAMIC_SECTION("post-poll pending " << post_poll << ", UV_RUN_ONCE timers " << once) {
        const Asm a = libuv_144(post_poll, once);
        CallSiteTable t = CallSiteTable::build(a.code());
        INFO(t.problem());
        REQUIRE(t.usable());
        CHECK(ph(t.phase_at(a.ret("top hrtime"))) == "timers");
        CHECK(ph(t.phase_at(a.ret("top hrtime") - 20)) == "timers");  // loop top, before the clock
        CHECK(ph(t.phase_at(a.ret("top timers"))) == "timers");
        CHECK(ph(t.phase_at(a.ret("top timers") + 1)) == "pending");
        CHECK(ph(t.phase_at(a.ret("pending"))) == "pending");
        CHECK(ph(t.phase_at(a.ret("uv__run_idle"))) == "idle");
        CHECK(ph(t.phase_at(a.ret("uv__run_prepare"))) == "prepare");
        CHECK(ph(t.phase_at(a.ret("uv__io_poll"))) == "poll");
        if (post_poll) CHECK(ph(t.phase_at(a.ret("post-poll pending"))) == "pending");
        CHECK(ph(t.phase_at(a.ret("uv__run_check"))) == "check");
        CHECK(ph(t.phase_at(a.ret("close cb"))) == "close");
        CHECK(ph(t.phase_at(a.ret("close cb") + 4)) == "close");
        if (once) {
          CHECK(ph(t.phase_at(a.ret("once hrtime"))) == "timers");
          CHECK(ph(t.phase_at(a.ret("once timers"))) == "timers");
        }
      }
    }
  }
}

TEST_CASE("CallSiteTable: a stray e8 byte is not a call unless it lands on a named function", "[loop][call_sites]") {
  Asm a;
  a.filler(0x10);
  // mov $0x332211e8, %eax: an e8 byte inside an immediate; its "target" is no named function.
  a.b.insert(a.b.end(), {0xb8, 0xe8, 0x11, 0x22, 0x33});
  a.call("uv__hrtime").call("uv__run_timers").call_mem("pending").filler(6).call("uv__run_idle");
  a.call("uv__run_prepare");
  a.filler(4).call("uv__io_poll").call("uv__run_check").call_reg("close cb").filler(4);
  // A real call to a named non-phase function is a site, but says nothing about the phase.
  a.call("some_helper");
  CallSiteTable t = CallSiteTable::build(a.code());
  REQUIRE(t.usable());
  std::vector<std::string> callees;
  for (const auto& s : t.direct_calls()) callees.push_back(s.callee);
  CHECK(callees == std::vector<std::string>{"uv__hrtime", "uv__run_timers", "uv__run_idle", "uv__run_prepare",
                                            "uv__io_poll", "uv__run_check", "some_helper"});
  CHECK(ph(t.phase_at(a.ret("pending"))) == "pending");
  CHECK(ph(t.phase_at(a.ret("close cb"))) == "close");
  CHECK(ph(t.phase_at(a.ret("some_helper"))) == "close");  // no end-of-iteration timers: close runs to the end
}

TEST_CASE("CallSiteTable: unusable without the anchor calls", "[loop][call_sites]") {
  SECTION("stripped binary: no symbol names at all") {
    UvRunCode c = libuv_146().code();
    c.symbol_at = [](uint64_t) { return std::string(); };
    CallSiteTable t = CallSiteTable::build(c);
    CHECK_FALSE(t.usable());
    CHECK(t.problem().find("uv__io_poll") != std::string::npos);
    CHECK(t.direct_calls().empty());
    for (uint64_t off : {uint64_t{0}, uint64_t{0x84}, uint64_t{0x11d}, uint64_t{0x187}, uint64_t{0x2c1}})
      CHECK(ph(t.phase_at(off)) == "unknown");
  }
  SECTION("no symbol_at function") {
    UvRunCode c = libuv_146().code();
    c.symbol_at = nullptr;
    CallSiteTable t = CallSiteTable::build(c);
    CHECK_FALSE(t.usable());
    CHECK(ph(t.phase_at(0x100)) == "unknown");
  }
  SECTION("one anchor missing (no uv__run_check)") {
    Asm a;
    a.filler(8).call("uv__run_timers").call_mem("pending").call("uv__run_idle").call("uv__run_prepare");
    a.call("uv__io_poll").call_reg("close cb").filler(8);
    CallSiteTable t = CallSiteTable::build(a.code());
    CHECK_FALSE(t.usable());
    CHECK_FALSE(t.problem().empty());
    CHECK(ph(t.phase_at(a.ret("uv__io_poll"))) == "unknown");
  }
  SECTION("anchors out of order") {
    Asm a;
    a.filler(8).call("uv__run_prepare").call("uv__run_idle").call("uv__io_poll").call("uv__run_check").filler(8);
    CallSiteTable t = CallSiteTable::build(a.code());
    CHECK_FALSE(t.usable());
    CHECK(ph(t.phase_at(a.ret("uv__io_poll"))) == "unknown");
  }
  SECTION("no code") {
    CallSiteTable t = CallSiteTable::build(UvRunCode{});
    CHECK_FALSE(t.usable());
    CHECK(ph(t.phase_at(0)) == "unknown");
  }
}
