// A real `node --perf-basic-prof` child: its perf map is found and names a hot JS function.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "fixture_util.h"
#include "loopperf/symbols/process_symbolizer.h"
#include "lp_skip.h"

using loopperf::symbols::FrameOrigin;
using loopperf::symbols::JitKind;
using loopperf::symbols::ProcessSymbolizer;

namespace {

std::string find_node() {
  for (const char* candidate : {"/usr/bin/node", "/usr/local/bin/node"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

// Line 2 holds `hot`; the test checks the perf map reports that line.
const char* kScript =
    "const fs = require('fs');\n"
    "function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * i) % 7; return s; }\n"
    "let t = 0;\n"
    "for (let i = 0; i < 20000; i++) t += hot(1000);\n"
    "fs.writeFileSync(process.argv[2] + '.tmp', String(t));\n"
    "fs.renameSync(process.argv[2] + '.tmp', process.argv[2]);\n"
    "setInterval(() => {}, 1000);\n";

}  // namespace

TEST_CASE("ProcessSymbolizer: node --perf-basic-prof map names a hot JS function",
          "[process_symbolizer][node]") {
  const std::string node = find_node();
  if (node.empty()) LP_SKIP("node not installed");
  // V8 writes isolate-*.log into the cwd: give it a private directory.
  std::string dir_template = (std::filesystem::temp_directory_path() / "loopperf-node-XXXXXX").string();
  REQUIRE(::mkdtemp(dir_template.data()) != nullptr);
  const std::string dir = dir_template;
  struct Cleanup {
    std::string dir, map;
    ~Cleanup() {
      std::filesystem::remove_all(dir);
      if (!map.empty()) std::filesystem::remove(map);  // node never deletes its perf map
    }
  } cleanup{dir, ""};
  const std::string script = dir + "/hot.js";
  const std::string ready = dir + "/ready";
  {
    std::ofstream out(script);
    out << kScript;
  }

  fixture::Child child;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const char* argv[] = {node.c_str(), "--perf-basic-prof", script.c_str(), ready.c_str(), nullptr};
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  child.adopt(pid);
  cleanup.map = "/tmp/perf-" + std::to_string(pid) + ".map";

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, WNOHANG) == 0);  // node must not have died
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(std::filesystem::exists(ready));

  ProcessSymbolizer sym(pid);
  sym.refresh();
  const auto& status = sym.perf_map_status();
  INFO("problem: " << status.problem);
  REQUIRE(status.found);
  CHECK(status.trusted);
  CHECK(status.path == cleanup.map);  // found through node's own fd
  CHECK(status.entries > 100);
  CHECK(status.malformed == 0);

  // The last optimized or baseline code for `hot`, straight from the file.
  std::ifstream map(cleanup.map);
  std::string line;
  uint64_t start = 0;
  char tier = 0;
  while (std::getline(map, line)) {
    for (const char* marker : {" JS:*hot ", " JS:+hot ", " JS:^hot "}) {
      if (line.find(marker) != std::string::npos) {
        start = std::stoull(line.substr(0, line.find(' ')), nullptr, 16);
        tier = marker[4];
      }
    }
  }
  REQUIRE(start != 0);

  const auto& frame = sym.resolve(start + 1, false);
  CHECK(frame.origin == FrameOrigin::kJit);
  CHECK(frame.module == "[jit]");
  CHECK(frame.jit_kind == JitKind::kJs);
  CHECK(frame.jit_tier == tier);
  REQUIRE(frame.frames.size() == 1);
  CHECK(frame.frames[0].name == "hot");
  CHECK(frame.frames[0].file == script);
  CHECK(frame.frames[0].line == 2);

  // Native frames of node resolve through its ELF file at the same time.
  auto* elf = sym.elf_for(node);
  REQUIRE(elf != nullptr);
  CHECK(elf->symbol_address("uv_run") != 0);

  child.kill_and_reap();
  sym.refresh();  // gone: nothing changes, nothing crashes
  CHECK(sym.resolve(start + 1, false).frames[0].name == "hot");
}
