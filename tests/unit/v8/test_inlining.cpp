// Inlined functions of optimized code: outer() is optimized by TurboFan with inner() inlined and
// calls spin() (never optimized, so never inlined), which spins. outer's frame, at its call to spin,
// must name [inner (inlined), outer]; with inlining off (--max-inlined-bytecode-size=0) it must not
// expand, on every line (node 20's V8 11.3 to node 26's 14.6). The same with Maglev code (it inlines
// on node 24 and 26).
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/process/ptrace_stop.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/v8/gc_epochs.h"
#include "loopperf/v8/heap_reader.h"
#include "loopperf/v8/layout.h"
#include "lp_skip.h"
#include "node_child.h"
#include "test_nodes.h"

using loopperf::process::PtraceStop;
using loopperf::symbols::ElfFile;
using loopperf::v8::FrameSlots;
using loopperf::v8::HeapReader;
using loopperf::v8::JsFunction;
using loopperf::v8::NamedFrame;

namespace {

std::string script(const char* optimize) {
  return std::string(
             "'use strict';\n"                                    // 1
             "const fs = require('fs');\n"                        // 2
             "function spin(x) {\n"                               // 3
             "  if (globalThis.forever) {\n"                      // 4
             "    fs.writeFileSync(process.argv[2], 'ready');\n"  // 5
             "    for (;;) x = (x * 31 + 7) % 1000003;\n"         // 6
             "  }\n"                                              // 7
             "  return x & 1;\n"                                  // 8
             "}\n"                                                // 9
             "function inner(x) {\n"                              // 10
             "  return spin(x) + 1;\n"                            // 11
             "}\n"                                                // 12
             "function outer(n) {\n"                              // 13
             "  let s = 0;\n"                                     // 14
             "  for (let i = 0; i < n; i++) s += inner(i);\n"     // 15
             "  return s;\n"                                      // 16
             "}\n"                                                // 17
             "%NeverOptimizeFunction(spin);\n"                    // 18
             "%PrepareFunctionForOptimization(inner);\n"          // 19
             "%PrepareFunctionForOptimization(outer);\n"          // 20
             "for (let k = 0; k < 10; k++) outer(100);\n"         // 21
             ) +
         "%" + optimize + "(outer);\n" +  // 22
         "outer(100);\n"                  // 23
         "globalThis.forever = true;\n"   // 24
         "outer(100);\n";                 // 25
}

std::string describe(const JsFunction& f) {
  return (f.name.empty() ? std::string("(anonymous)") : f.name) + " " + f.script + ":" +
         std::to_string(f.line);
}

enum class Tier { kTurbofan, kMaglev };

uint64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// With the memo (GcEpochs on the child), a frame met in the same epoch at slots not seen before,
// in code and of a function a read vouched for (here outer's frame with another value in a slot
// its optimized code does not use), is named from the epoch's facts with no read, exactly as the
// read named it; a leaf is read; a new epoch forgets the facts.
void check_derived(pid_t pid, const std::string& node, const ElfFile& elf, const loopperf::v8::Layout& layout,
                   const std::vector<FrameSlots>& slots, const std::vector<std::string>& read, uint32_t outer_slot) {
  auto epochs = loopperf::v8::GcEpochs::create(pid, node, elf.vaddr_to_file_offset(layout.gc_begin));
  if (!epochs && ::geteuid() != 0) LP_SKIP("uprobes need root or CAP_PERFMON: " << epochs.error().message);
  REQUIRE(epochs.ok());
  HeapReader reader(layout, pid);
  reader.set_gc_epochs(epochs->get());
  const loopperf::v8::SampleMoment at{pid, now_ns()};
  std::vector<NamedFrame> first;
  reader.name_frames(slots, first, &at);
  std::vector<std::string> first_names;
  for (const NamedFrame& n : first) first_names.push_back(describe(reader.function(n.function)));
  CHECK(first_names == read);  // the memo's reader reads as the plain one did
  const uint64_t reads = reader.stats().reads;
  REQUIRE(reader.stats().derived == 0);

  std::vector<FrameSlots> other{slots[outer_slot]};
  other[0].bytecode_offset ^= 0x100;  // not in the memo's key for this frame before
  std::vector<NamedFrame> derived;
  reader.name_frames(other, derived, &at);
  CHECK(reader.stats().derived == 1);
  CHECK(reader.stats().reads == reads);
  std::vector<std::string> want, got;
  for (const NamedFrame& n : first)
    if (n.slot == outer_slot) want.push_back(reader.function(n.function).name + "/" + std::to_string(n.line));
  for (const NamedFrame& n : derived) got.push_back(reader.function(n.function).name + "/" + std::to_string(n.line));
  CHECK(got == want);

  // A leaf's frame may not be built yet: its code is read.
  other[0].bytecode_offset ^= 0x300;
  other[0].leaf = true;
  derived.clear();
  reader.name_frames(other, derived, &at);
  CHECK(reader.stats().derived == 1);
  CHECK(reader.stats().reads > reads);
}

void check_inlining(int major, bool inlining, Tier tier = Tier::kTurbofan) {
  LP_TEST_NODE(node, major);
  auto elf = ElfFile::open_path(node);
  REQUIRE(elf.ok());
  auto layout = loopperf::v8::load_layout(**elf);
  REQUIRE(layout.ok());
  REQUIRE(layout->inlining);

  v8_test::TempDir tmp;
  REQUIRE(!tmp.path.empty());
  const std::string dir = std::filesystem::canonical(tmp.path).string();
  tmp.write("main.js",
            script(tier == Tier::kMaglev ? "OptimizeMaglevOnNextCall" : "OptimizeFunctionOnNextCall"));
  const std::string ready = dir + "/ready", main = dir + "/main.js";
  std::vector<std::string> flags{"--allow-natives-syntax"};
  if (!inlining) flags.push_back("--max-inlined-bytecode-size=0");
  if (tier == Tier::kMaglev) {
    flags.push_back("--maglev");
    if (!inlining) flags.push_back("--no-maglev-inlining");
  }
  v8_test::NodeChild child(node, flags, dir, main, ready);
  REQUIRE(child.wait_ready(ready));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  HeapReader reader(*layout, child.pid());
  auto maps = loopperf::process::read_maps(child.pid());
  REQUIRE(maps.ok());
  std::vector<FrameSlots> slots;
  std::vector<NamedFrame> named;
  double first_us = 0, cached_us = 0;
  constexpr int kRepeats = 20;
  {
    auto stop = PtraceStop::stop(child.pid());
    REQUIRE(stop.ok());
    slots = v8_test::candidate_frames(child.pid(), stop->regs(), *layout, **elf, node, *maps);
    auto t0 = std::chrono::steady_clock::now();
    reader.name_frames(slots, named);
    auto t1 = std::chrono::steady_clock::now();
    std::vector<NamedFrame> again;
    for (int k = 0; k < kRepeats; ++k) {
      again.clear();
      reader.name_frames(slots, again);
    }
    auto t2 = std::chrono::steady_clock::now();
    first_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    cached_us = std::chrono::duration<double, std::micro>(t2 - t1).count() / kRepeats;
    CHECK(again == named);
  }
  std::string stack;
  for (const NamedFrame& n : named)
    stack += "\n  slot " + std::to_string(n.slot) + ": " + describe(reader.function(n.function));
  const std::string what =
      std::string(tier == Tier::kMaglev ? " maglev" : "") + (inlining ? "" : " (no inlining)");
  INFO("node " << major << what << " stack:" << stack);
  int outer = -1;
  for (size_t i = 0; i < named.size(); ++i) {
    const JsFunction& f = reader.function(named[i].function);
    if (f.name == "outer" && f.script == main) {
      outer = static_cast<int>(i);
      break;
    }
  }
  REQUIRE(outer >= 1);
  const JsFunction& o = reader.function(named[outer].function);
  CHECK(o.line == 13);
  const JsFunction& before = reader.function(named[outer - 1].function);
  CHECK(reader.function(named[0].function).name == "spin");
  if (inlining) {
    // [spin] [inner (inlined), outer]: inner shares outer's slot and comes first.
    CHECK(before.name == "inner");
    CHECK(before.script == main);
    CHECK(before.line == 10);
    CHECK(named[outer - 1].slot == named[outer].slot);
    CHECK(named[outer - 1].line == 0);
    CHECK(reader.stats().inlined > 0);
  } else {
    CHECK(named[outer - 1].slot != named[outer].slot);
    CHECK(reader.stats().inlined == 0);
  }
  CHECK(reader.stats().invalid == 0);
  if (inlining && tier == Tier::kTurbofan) {
    auto stop = PtraceStop::stop(child.pid());
    REQUIRE(stop.ok());
    std::vector<std::string> names;
    for (const NamedFrame& n : named) names.push_back(describe(reader.function(n.function)));
    check_derived(child.pid(), node, **elf, *layout, slots, names, named[outer].slot);
  }
  WARN("node " << major << what << ": name_frames of " << slots.size() << " slots: first " << first_us
               << " us, then " << cached_us << " us (cached); " << reader.stats().reads << " reads in all");
}

}  // namespace

TEST_CASE("HeapReader: inlined functions, node 20", "[v8][heap_reader][node][inlining]") {
  check_inlining(20, true);
}
TEST_CASE("HeapReader: inlined functions, node 22", "[v8][heap_reader][node][inlining]") {
  check_inlining(22, true);
}
TEST_CASE("HeapReader: inlined functions, node 24", "[v8][heap_reader][node][inlining]") {
  check_inlining(24, true);
}
TEST_CASE("HeapReader: inlined functions, node 26", "[v8][heap_reader][node][inlining]") {
  check_inlining(26, true);
}
TEST_CASE("HeapReader: no inlining, node 20", "[v8][heap_reader][node][inlining]") {
  check_inlining(20, false);
}
TEST_CASE("HeapReader: no inlining, node 22", "[v8][heap_reader][node][inlining]") {
  check_inlining(22, false);
}
TEST_CASE("HeapReader: no inlining, node 24", "[v8][heap_reader][node][inlining]") {
  check_inlining(24, false);
}
TEST_CASE("HeapReader: no inlining, node 26", "[v8][heap_reader][node][inlining]") {
  check_inlining(26, false);
}

// (Node 20's V8 11.3 runs Maglev only behind --maglev, and inlines there only behind the experimental
// --maglev-inlining: no Maglev case. Node 22's V8 12.4 prints "Maglev is not enabled." for
// %OptimizeMaglevOnNextCall even with --maglev, and inner() keeps a frame of its own: no Maglev case
// there either.)
TEST_CASE("HeapReader: inlined functions, node 24, Maglev", "[v8][heap_reader][node][inlining]") {
  check_inlining(24, true, Tier::kMaglev);
}
TEST_CASE("HeapReader: inlined functions, node 26, Maglev", "[v8][heap_reader][node][inlining]") {
  check_inlining(26, true, Tier::kMaglev);
}
