// HeapReader on real node processes of each supported line: a script spins in leaf() under
// middle(), outer() and friends; its main thread is stopped, its stack walked by frame pointers the
// way the unwinder does it, and the JS frames named from the heap. Then: garbage slots name nothing.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/process/ptrace_stop.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/v8/heap_reader.h"
#include "loopperf/v8/layout.h"
#include "lp_skip.h"
#include "node_child.h"

using loopperf::process::PtraceStop;
using loopperf::symbols::ElfFile;
using loopperf::v8::FrameSlots;
using loopperf::v8::HeapReader;
using loopperf::v8::JsFunction;
using loopperf::v8::Layout;
using loopperf::v8::NamedFrame;
using Kind = loopperf::v8::JsFunction::Kind;

namespace {

enum class Mode {
  kDefault,      // default flags: leaf's endless loop gets OSR'd into optimized code
  kInterpreted,  // --no-opt --no-sparkplug --no-maglev: every frame interpreted, with current lines
  kWarmedUp,     // leaf called until optimized first, then entered for good
};

// Line 21 of the test script: the warm-up, or (interpreted) a stack trace, which makes V8 store
// main.js's line ends in its Script (read from there then; otherwise they are scanned from the
// source).
const char* line_21(Mode mode) {
  switch (mode) {
    case Mode::kWarmedUp:
      return "for (let k = 0; k < 20000; k++) leaf(false);";
    case Mode::kInterpreted:
      return "if (!new Error().stack.includes('main.js')) throw new Error('no stack');";
    default:
      return "// no warm-up";
  }
}

// The test script, line by line; the line numbers below are 1-based indexes into it.
std::vector<std::string> main_js(Mode mode) {
  return {
      "'use strict';",                                                                   // 1
      "const fs = require('fs');",                                                       // 2
      "const vm = require('vm');",                                                       // 3
      "const pkg = require('pkg');",                                                     // 4
      "function leaf(forever) {",                                                        // 5
      "  let s = 0, n = 0;",                                                             // 6
      "  do s = (s * 31 + n++) % 1000003; while (forever || n < 1000);",                 // 7: spins, one line
      "  return s;",                                                                     // 8
      "}",                                                                               // 9
      "function middle(forever) {",                                                      // 10
      "  return leaf(forever);",                                                         // 11
      "}",                                                                               // 12
      "const viaNewFunction = new Function('f', 'return f();');",                        // 13
      "const viaVm = vm.runInThisContext('(function viaVm(f) {\\n  return f();\\n})',",  // 14
      "                                  { filename: 'vmfile.js', lineOffset: 100 });",  // 15
      "function outer(forever) {",                                                       // 16
      "  return (function () {",                                                         // 17
      "    return viaNewFunction(() => viaVm(() => middle(forever)));",                  // 18
      "  })();",                                                                         // 19
      "}",                                                                               // 20
      line_21(mode),                                                                     // 21
      "fs.writeFileSync(process.argv[2], 'ready');",                                     // 22
      "setTimeout(() => pkg.viaPkg(() => outer(true)), 1);",                             // 23
  };
}

const char* kPkgJs =
    "'use strict';\n"
    "// A function in a package: its file must be named.\n"
    "exports.viaPkg = function viaPkg(f) {\n"
    "  return f();\n"
    "};\n";

// A function the script defines: what it must be named with, and the line its frame executes
// while leaf() spins (the call it is in).
struct Known {
  const char* id;  // for messages and order checks
  std::string name, script;
  int line;
  Kind kind;
  int current_line;
};

std::vector<Known> known_functions(const std::string& dir) {
  const std::string main = dir + "/main.js", pkg = dir + "/node_modules/pkg/index.js";
  return {
      {"leaf", "leaf", main, 5, Kind::kNormal, 7},
      {"middle", "middle", main, 10, Kind::kNormal, 11},
      {"arrow(middle)", "", main, 18, Kind::kNormal, 18},
      {"viaVm", "viaVm", "vmfile.js", 101, Kind::kNormal, 102},
      {"arrow(viaVm)", "", main, 18, Kind::kNormal, 18},
      // new Function's code: a script of its own, "(function anonymous(f\n) {\nreturn f();\n})".
      {"new Function", "", "", 1, Kind::kEval, 3},
      {"iife", "", main, 17, Kind::kNormal, 18},
      {"outer", "outer", main, 16, Kind::kNormal, 19},
      {"arrow(outer)", "", main, 23, Kind::kNormal, 23},
      {"viaPkg", "viaPkg", pkg, 3, Kind::kNormal, 4},
      {"arrow(viaPkg)", "", main, 23, Kind::kNormal, 23},
  };
}

std::string describe(const JsFunction& f, int line) {
  return (f.name.empty() ? std::string("(anonymous)") : f.name) + " " + f.script + ":" +
         std::to_string(f.line) + ":" + std::to_string(f.column) + " kind " +
         std::to_string(static_cast<int>(f.kind)) + " at line " + std::to_string(line);
}

struct Sample {
  std::vector<FrameSlots> slots;
  std::vector<NamedFrame> named;
};

// Stops the main thread once and names its stack.
Sample take_sample(pid_t pid, HeapReader& reader, ElfFile& elf, const std::string& node) {
  Sample s;
  auto maps = loopperf::process::read_maps(pid);
  REQUIRE(maps.ok());
  auto stop = PtraceStop::stop(pid);
  REQUIRE(stop.ok());
  s.slots = v8_test::candidate_frames(pid, stop->regs(), reader.layout(), elf, node, *maps);
  reader.name_frames(s.slots, s.named);
  return s;
}

void check_stacks(int major, Mode mode) {
  const std::string node = v8_test::node_binary(major);
  if (node.empty()) LP_SKIP("node " << major << " not installed (scripts/install-test-nodes.sh)");
  auto elf = ElfFile::open_path(node);
  REQUIRE(elf.ok());
  auto layout = loopperf::v8::load_layout(**elf);
  REQUIRE(layout.ok());

  v8_test::TempDir tmp;
  REQUIRE(!tmp.path.empty());
  // node reports the main script by its real path.
  const std::string dir = std::filesystem::canonical(tmp.path).string();
  std::string js;
  for (const std::string& line : main_js(mode)) js += line + "\n";
  tmp.write("main.js", js);
  tmp.write("node_modules/pkg/index.js", kPkgJs);
  const std::string ready = dir + "/ready";
  std::vector<std::string> flags;
  if (mode == Mode::kInterpreted) flags = {"--no-opt", "--no-sparkplug", "--no-maglev"};
  v8_test::NodeChild child(node, flags, dir, dir + "/main.js", ready);
  REQUIRE(child.wait_ready(ready));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const std::vector<Known> known = known_functions(dir);
  HeapReader reader(*layout, child.pid());
  // A few samples: each must name nothing wrong; the first that names leaf innermost is checked in
  // full (a stop may land in a moment where leaf's frame is not complete, such as its replacement by
  // optimized code).
  Sample sample;
  bool have_sample = false;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Sample taken = take_sample(child.pid(), reader, **elf, node);
    if (!have_sample && !taken.named.empty() && reader.function(taken.named[0].function).name == "leaf") {
      have_sample = true;
      sample = taken;
    } else if (!have_sample) {
      sample = taken;
    }
    for (const NamedFrame& n : taken.named) {
      const JsFunction& f = reader.function(n.function);
      INFO("node " << major << ": " << describe(f, n.line));
      bool ok = false;
      for (const Known& k : known) {
        if (f.name == k.name && f.script == k.script && f.line == k.line && f.kind == k.kind) {
          ok = true;
          // A current line, when given, is the call this frame is in.
          if (n.line != 0) CHECK(n.line == k.current_line);
        }
      }
      // Anything else must be node's own JavaScript or a function without a script (a builtin).
      if (!ok) ok = f.kind == Kind::kNative && (f.script.empty() || f.script.starts_with("node:"));
      CHECK(ok);
      CHECK(n.function != 0);
      CHECK(n.slot < taken.slots.size());
    }
  }

  // Where each known function appears (first frame naming it), leaf first.
  auto index_of = [&](const char* id) -> int {
    for (const Known& k : known) {
      if (std::string(k.id) != id) continue;
      for (size_t i = 0; i < sample.named.size(); ++i) {
        const JsFunction& f = reader.function(sample.named[i].function);
        if (f.name == k.name && f.script == k.script && f.line == k.line && f.kind == k.kind)
          return static_cast<int>(i);
      }
    }
    return -1;
  };
  std::string stack;
  for (const NamedFrame& n : sample.named) stack += "\n  " + describe(reader.function(n.function), n.line);
  INFO("node " << major << " stack:" << stack);
  const int leaf = index_of("leaf"), middle = index_of("middle"), via_vm = index_of("viaVm"),
            via_new_function = index_of("new Function"), iife = index_of("iife"), outer = index_of("outer"),
            via_pkg = index_of("viaPkg");
  REQUIRE(leaf == 0);
  CHECK(middle > leaf);
  CHECK(via_vm > middle);
  CHECK(via_new_function > via_vm);
  CHECK(iife > via_new_function);
  CHECK(outer > iife);
  CHECK(via_pkg > outer);
  // leaf's start: the parameter list's parenthesis in "function leaf(forever) {".
  CHECK(reader.function(sample.named[0].function).column == 14);

  if (mode == Mode::kInterpreted) {
    // Every frame of the script's functions is interpreted and has its current line; leaf's is
    // the spinning line.
    CHECK(sample.named[leaf].line == 7);
    CHECK(sample.named[middle].line == 11);
    CHECK(sample.named[outer].line == 19);
    CHECK(sample.named[via_pkg].line == 4);
  }
  if (mode == Mode::kWarmedUp) {
    // leaf runs optimized code: named, without a line (a JIT frame).
    CHECK(sample.slots[sample.named[leaf].slot].pc > layout->builtins_end);
  }
  const HeapReader::Stats& st = reader.stats();
  CHECK(st.named >= 4 * 7);
  CHECK(st.invalid == 0);
  CHECK(st.read_failed == 0);
  // Later samples come from the per-function cache: two batched reads each.
  CHECK(st.cache_hits > 0);
  WARN("node " << major << ": " << sample.slots.size() << " candidate frames, " << sample.named.size()
               << " named; totals: " << st.reads << " reads, " << st.cache_hits << " cache hits, " << st.lines
               << " lines; " << reader.function_count() << " functions");
}

}  // namespace

TEST_CASE("HeapReader: node 20 stack, default flags", "[v8][heap_reader][node]") {
  check_stacks(20, Mode::kDefault);
}
TEST_CASE("HeapReader: node 22 stack, default flags", "[v8][heap_reader][node]") {
  check_stacks(22, Mode::kDefault);
}
TEST_CASE("HeapReader: node 24 stack, default flags", "[v8][heap_reader][node]") {
  check_stacks(24, Mode::kDefault);
}
TEST_CASE("HeapReader: node 26 stack, default flags", "[v8][heap_reader][node]") {
  check_stacks(26, Mode::kDefault);
}

TEST_CASE("HeapReader: node 20 stack, interpreted", "[v8][heap_reader][node]") {
  check_stacks(20, Mode::kInterpreted);
}
TEST_CASE("HeapReader: node 22 stack, interpreted", "[v8][heap_reader][node]") {
  check_stacks(22, Mode::kInterpreted);
}
TEST_CASE("HeapReader: node 24 stack, interpreted", "[v8][heap_reader][node]") {
  check_stacks(24, Mode::kInterpreted);
}
TEST_CASE("HeapReader: node 26 stack, interpreted", "[v8][heap_reader][node]") {
  check_stacks(26, Mode::kInterpreted);
}

TEST_CASE("HeapReader: node 20 stack, optimized leaf", "[v8][heap_reader][node]") {
  check_stacks(20, Mode::kWarmedUp);
}
TEST_CASE("HeapReader: node 22 stack, optimized leaf", "[v8][heap_reader][node]") {
  check_stacks(22, Mode::kWarmedUp);
}
TEST_CASE("HeapReader: node 24 stack, optimized leaf", "[v8][heap_reader][node]") {
  check_stacks(24, Mode::kWarmedUp);
}
TEST_CASE("HeapReader: node 26 stack, optimized leaf", "[v8][heap_reader][node]") {
  check_stacks(26, Mode::kWarmedUp);
}

TEST_CASE("HeapReader: garbage frame slots name nothing", "[v8][heap_reader][node]") {
  int tried = 0;
  for (int major : {20, 22, 24, 26}) {
    const std::string node = v8_test::node_binary(major);
    if (node.empty()) continue;
    tried++;
    auto elf = ElfFile::open_path(node);
    REQUIRE(elf.ok());
    auto layout = loopperf::v8::load_layout(**elf);
    REQUIRE(layout.ok());
    v8_test::TempDir tmp;
    const std::string dir = std::filesystem::canonical(tmp.path).string();
    std::string js;
    for (const std::string& line : main_js(Mode::kDefault)) js += line + "\n";
    tmp.write("main.js", js);
    tmp.write("node_modules/pkg/index.js", kPkgJs);
    const std::string ready = dir + "/ready";
    v8_test::NodeChild child(node, {}, dir, dir + "/main.js", ready);
    REQUIRE(child.wait_ready(ready));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));

    auto maps = loopperf::process::read_maps(child.pid());
    REQUIRE(maps.ok());
    auto stop = PtraceStop::stop(child.pid());
    REQUIRE(stop.ok());
    const uint64_t rsp = stop->regs().rsp;
    const std::vector<FrameSlots> real =
        v8_test::candidate_frames(child.pid(), stop->regs(), *layout, **elf, node, *maps);
    REQUIRE(!real.empty());
    // Real heap objects that are not JSFunctions, and addresses inside real JSFunctions (a pointer
    // into the JS heap at random may land on a real function's start, which is no garbage).
    std::vector<uint64_t> not_functions;
    for (const FrameSlots& r : real) {
      if ((r.context_or_marker & 3) == 1) not_functions.push_back(r.context_or_marker);
      if ((r.bytecode_array & 3) == 1) not_functions.push_back(r.bytecode_array);
      uint64_t shared = 0;
      if ((r.function & 3) == 1 &&
          v8_test::read_remote(child.pid(), r.function - 1 + layout->js_function_shared, &shared, 8)) {
        not_functions.push_back(shared);
      }
      // A JSFunction has at least 7 fields (56 bytes): +8 .. +48 stay inside it.
      for (uint64_t k = 1; k < 7; ++k) not_functions.push_back(r.function + 8 * k);
    }
    std::vector<std::pair<uint64_t, uint64_t>> data;  // node's writable data
    const std::string exe = std::filesystem::canonical(node).string();
    for (const auto& m : *maps) {
      if (m.clean_path() == exe && m.writable) data.emplace_back(m.start, m.end);
    }
    REQUIRE(!data.empty());

    std::mt19937_64 rng(major);
    auto in = [&](const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
      const auto& r = ranges[rng() % ranges.size()];
      return r.first + (rng() % (r.second - r.first));
    };
    auto tagged = [](uint64_t a) { return (a & ~uint64_t{7}) | 1; };
    std::vector<FrameSlots> garbage;
    for (int i = 0; i < 4000; ++i) {
      FrameSlots s;
      s.fp = rsp + 8 * (rng() % 4096);
      s.pc =
          (i % 2) ? layout->builtins_start + rng() % (layout->builtins_end - layout->builtins_start) : rng();
      s.context_or_marker = (i % 5) ? tagged(rng()) : real[rng() % real.size()].context_or_marker;
      switch (i % 5) {
        case 0:  // anything
          s.function = rng();
          break;
        case 1:  // a "heap object" anywhere
          s.function = tagged(rng());
          break;
        case 2:  // into the stack
          s.function = tagged(rsp + 8 * (rng() % 8192));
          break;
        case 3:  // into node's .data
          s.function = tagged(in(data));
          break;
        default:
          s.function = not_functions[rng() % not_functions.size()];
          break;
      }
      // Bytecode slots: garbage, or a real bytecode array with a random offset.
      s.bytecode_array = (i % 3) ? tagged(in(data)) : real[rng() % real.size()].bytecode_array;
      s.bytecode_offset = (rng() % 4096) << 32;
      garbage.push_back(s);
    }
    HeapReader reader(*layout, child.pid());
    std::vector<NamedFrame> named;
    for (size_t at = 0; at < garbage.size(); at += 40) {
      const size_t before = named.size();
      reader.name_frames(
          std::span<const FrameSlots>(garbage).subspan(at, std::min<size_t>(40, garbage.size() - at)), named);
      for (size_t k = before; k < named.size(); ++k) named[k].slot += static_cast<uint32_t>(at);
    }
    INFO("node " << major);
    for (const NamedFrame& n : named) {
      const FrameSlots& g = garbage[n.slot];
      UNSCOPED_INFO("named " << describe(reader.function(n.function), n.line) << " case " << n.slot % 5
                             << " fn=" << std::hex << g.function);
    }
    CHECK(named.empty());
    CHECK(reader.stats().frames == garbage.size());
    CHECK(reader.stats().named == 0);
    CHECK(reader.function_count() == 0);
    // The real stack still names its frames with the same reader afterwards.
    reader.name_frames(real, named);
    CHECK(!named.empty());
  }
  if (tried == 0) LP_SKIP("no node binary of lines 20-26 installed");
}
