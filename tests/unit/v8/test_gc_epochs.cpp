// GcEpochs on real node processes of each supported line: the uprobe on
// Heap::PerformGarbageCollection counts the collections a script asks for with gc(), at the times
// they happened; and FrameMemo, which trusts those counts, empties when a thread's epoch moves on.
#include <signal.h>
#include <time.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "../../../src/v8/frame_memo.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/v8/gc_epochs.h"
#include "loopperf/v8/layout.h"
#include "lp_skip.h"
#include "node_child.h"

using loopperf::v8::FrameMemo;
using loopperf::v8::GcEpochs;

namespace {

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Collects garbage 5 times (full collections, which may each be preceded by a young one) on each
// SIGUSR2, then writes `<ready>.<n>`.
constexpr const char* kScript = R"(
const fs = require('fs');
const ready = process.argv[2];
let n = 0;
process.on('SIGUSR2', () => { for (let i = 0; i < 5; i++) gc(); fs.writeFileSync(ready + '.' + (++n), 'x'); });
fs.writeFileSync(ready, String(process.pid));
setInterval(() => {}, 1000);
)";

void check_epochs(int major) {
  const std::string node = v8_test::node_binary(major);
  if (node.empty()) LP_SKIP("node " << major << " is not installed (scripts/install-test-nodes.sh)");
  auto elf = loopperf::symbols::ElfFile::open_path(node);
  REQUIRE(elf.ok());
  auto layout = loopperf::v8::load_layout(**elf);
  REQUIRE(layout.ok());
  REQUIRE(layout->gc_begin != 0);
  REQUIRE(layout->gc_size > 0);
  v8_test::TempDir tmp;
  const std::string dir = std::filesystem::canonical(tmp.path).string();
  tmp.write("main.js", kScript);
  const std::string ready = dir + "/ready";
  v8_test::NodeChild child(node, {"--expose-gc"}, dir, dir + "/main.js", ready);
  REQUIRE(child.wait_ready(ready));
  const pid_t pid = child.pid();

  const uint64_t before_probe = now_ns();
  auto epochs = GcEpochs::create(pid, "/proc/" + std::to_string(pid) + "/exe",
                                 (*elf)->vaddr_to_file_offset(layout->gc_begin));
  if (!epochs && ::geteuid() != 0) LP_SKIP("uprobes need root or CAP_PERFMON: " << epochs.error().message);
  REQUIRE(epochs.ok());
  GcEpochs& g = **epochs;
  // Nothing is known of the time before the probe.
  CHECK_FALSE(g.epoch_at(pid, before_probe).has_value());
  auto e0 = g.epoch_now(pid);
  REQUIRE(e0.has_value());

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t before_gc = now_ns();
  ::kill(pid, SIGUSR2);
  REQUIRE(child.wait_ready(ready + ".1"));
  const uint64_t after_gc = now_ns();
  auto e1 = g.epoch_now(pid);
  REQUIRE(e1.has_value());
  CHECK(*e1 >= *e0 + 5);
  CHECK(*e1 <= *e0 + 10);  // at most a young collection before each full one
  // A moment before the signal is in the first epoch (unless V8 collected on its own meanwhile),
  // one after the last collection in the last.
  auto at_before = g.epoch_at(pid, before_gc);
  REQUIRE(at_before.has_value());
  CHECK(*at_before <= *e0 + 1);
  CHECK(g.epoch_at(pid, after_gc) == e1);
  CHECK(g.stats().collections >= 5);
  CHECK(g.stats().lost == 0);

  // A thread forgotten (it exited) starts again from nothing: known from its next probe on.
  g.forget(pid);
  CHECK_FALSE(g.epoch_now(pid).has_value());
  CHECK_FALSE(g.epoch_at(pid, after_gc).has_value());
  CHECK(g.epoch_now(pid) == std::optional<uint64_t>(0));
}

}  // namespace

TEST_CASE("GcEpochs: node 20 collections are counted at their times", "[v8][gc_epochs][node]") {
  check_epochs(20);
}
TEST_CASE("GcEpochs: node 22 collections are counted at their times", "[v8][gc_epochs][node]") {
  check_epochs(22);
}
TEST_CASE("GcEpochs: node 24 collections are counted at their times", "[v8][gc_epochs][node]") {
  check_epochs(24);
}
TEST_CASE("GcEpochs: node 26 collections are counted at their times", "[v8][gc_epochs][node]") {
  check_epochs(26);
}

TEST_CASE("FrameMemo: a thread's memo holds one epoch and is bounded", "[v8][gc_epochs]") {
  FrameMemo memo;
  loopperf::v8::HeapReader::Stats stats;
  loopperf::v8::FrameSlots s;
  s.pc = 0x1000;
  s.function = 0x2001;
  const FrameMemo::Key k = FrameMemo::key_of(s);
  const loopperf::v8::NamedFrame frames[] = {{0, 7, 0}, {0, 3, 12}};  // inlined 7 in 3, line 12

  FrameMemo::Thread* t = memo.at(100, 4, stats);
  REQUIRE(t != nullptr);
  memo.store(*t, k, frames, stats);
  const FrameMemo::Entry* e = memo.find(*t, k);
  REQUIRE(e != nullptr);
  CHECK(e->line == 12);
  REQUIRE(memo.ids(*t, *e).size() == 2);
  CHECK(memo.ids(*t, *e)[0] == 7);
  CHECK(memo.ids(*t, *e)[1] == 3);

  // Other slots, another thread: not found.
  loopperf::v8::FrameSlots other = s;
  other.bytecode_offset = 8;
  CHECK(memo.find(*t, FrameMemo::key_of(other)) == nullptr);
  REQUIRE(memo.at(101, 4, stats) != nullptr);
  CHECK(memo.find(*memo.at(101, 4, stats), k) == nullptr);

  // An older epoch is refused (its sample is read); a newer one empties the memo.
  CHECK(memo.at(100, 3, stats) == nullptr);
  t = memo.at(100, 5, stats);
  REQUIRE(t != nullptr);
  CHECK(memo.find(*t, k) == nullptr);
  CHECK(stats.memo_resets == 1);

  // Bounded: storing past the bound starts again rather than grow.
  for (uint64_t i = 0; i < (1u << 14) + 10; ++i) {
    loopperf::v8::FrameSlots x = s;
    x.pc = 0x100000 + i;
    memo.store(*t, FrameMemo::key_of(x), frames, stats);
  }
  CHECK(t->frames.size() < (1u << 14));
  CHECK(stats.memo_resets == 2);
}
