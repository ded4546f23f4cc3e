#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixture_util.h"
#include "loopperf/process/process.h"
#include "loopperf/symbols/process_symbolizer.h"
#include "lp_skip.h"

using loopperf::symbols::ElfFile;
using loopperf::symbols::FrameOrigin;
using loopperf::symbols::JitKind;
using loopperf::symbols::ProcessSymbolizer;
using loopperf::symbols::ResolvedFrame;

namespace {

std::string real(const std::string& p) { return std::filesystem::weakly_canonical(p).string(); }

// Writes a perf map for `pid` with the given mode (umask does not apply: fchmod after creating).
std::string write_perf_map(pid_t pid, const std::string& text, mode_t mode) {
  std::string path = "/tmp/perf-" + std::to_string(pid) + ".map";
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  ::chmod(path.c_str(), mode);
  return path;
}

void append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << std::hex << v;
  return s.str();
}

// Address of a kernel text symbol from /proc/kallsyms; 0 when hidden or absent.
uint64_t kernel_symbol(const std::string& wanted) {
  std::ifstream in("/proc/kallsyms");
  std::string addr, type, name;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    fields >> addr >> type >> name;
    if (name == wanted && (type == "T" || type == "t")) return std::stoull(addr, nullptr, 16);
  }
  return 0;
}

// Removes a file when the test ends, however it ends.
struct Unlink {
  std::string path;
  ~Unlink() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
};

}  // namespace

TEST_CASE("ProcessSymbolizer: names a live child's functions and survives its exit", "[process_symbolizer]") {
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("outer") == 1);
  REQUIRE(addrs.count("lib") == 1);
  REQUIRE(addrs.count("jit") == 1);

  ProcessSymbolizer sym(child.pid());
  sym.refresh();
  REQUIRE_FALSE(sym.maps().empty());

  const ResolvedFrame& outer = sym.resolve(addrs["outer"], false);
  CHECK(outer.origin == FrameOrigin::kNative);
  CHECK(real(outer.module) == real(fixture::kBinary));
  CHECK(outer.build_id == fixture::kBuildId);
  CHECK(outer.map_start <= addrs["outer"]);
  CHECK(outer.map_limit > addrs["outer"]);
  REQUIRE_FALSE(outer.frames.empty());
  CHECK(outer.frames.back().name == "symfix_outer");
  CHECK(&sym.resolve(addrs["outer"], false) == &outer);  // cached

  const ResolvedFrame& templated = sym.resolve(addrs["templated"] + 2, false);
  CHECK(templated.frames.back().name == "int symfix::templated_work<int>(int)");

  // The inlined helper inside symfix_outer, found by walking the function's bytes at run-time addresses.
  auto elf = ElfFile::open_path(fixture::kBinary);
  REQUIRE(elf.ok());
  uint64_t size = 0;
  REQUIRE(elf.value()->symbol_address("symfix_outer", &size) != 0);
  REQUIRE(size > 0);
  bool saw_inlined = false;
  for (uint64_t a = addrs["outer"]; a < addrs["outer"] + size && !saw_inlined; ++a) {
    const ResolvedFrame& f = sym.resolve(a, false);
    saw_inlined = f.frames.size() == 2 && f.frames.front().name == "inlined_helper" &&
                  f.frames.back().name == "symfix_outer";
  }
  CHECK(saw_inlined);

  CHECK(sym.elf_for(fixture::kBinary) != nullptr);
  CHECK(sym.elf_for("/not/mapped") == nullptr);

  // Anonymous executable memory without a perf map: JIT, unnamed.
  const ResolvedFrame& jit = sym.resolve(addrs["jit"] + 16, false);
  CHECK(jit.origin == FrameOrigin::kJit);
  CHECK(jit.module == "[jit]");
  CHECK(jit.frames.front().name == "[unknown] [jit]");
  CHECK_FALSE(sym.perf_map_status().found);
  CHECK_FALSE(sym.perf_map_status().problem.empty());

  // An address in no mapping.
  const ResolvedFrame& nowhere = sym.resolve(0x10, false);
  CHECK(nowhere.origin == FrameOrigin::kUnknown);
  CHECK(nowhere.module.empty());
  REQUIRE(nowhere.frames.size() == 1);
  CHECK(nowhere.frames.front().name == "[unknown]");

  // The target goes away: refresh keeps the snapshot, unresolved addresses still resolve.
  size_t maps_before = sym.maps().size();
  child.kill_and_reap();
  sym.refresh();
  CHECK(sym.maps().size() == maps_before);
  const ResolvedFrame& lib = sym.resolve(addrs["lib"], false);  // first lookup in the library
  CHECK(lib.origin == FrameOrigin::kNative);
  CHECK(real(lib.module) == real(fixture::kLibrary));
  CHECK(lib.build_id == fixture::kLibBuildId);
  CHECK(lib.frames.back().name == "symfix_lib_function");
  CHECK(sym.resolve(addrs["outer"] + 1, false).frames.back().name == "symfix_outer");
}

TEST_CASE("ProcessSymbolizer: vdso and kernel frames", "[process_symbolizer]") {
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("outer") == 1);
  ProcessSymbolizer sym(child.pid());
  sym.refresh();

  const loopperf::process::MapEntry* vdso = nullptr;
  for (const auto& m : sym.maps()) {
    if (m.path == "[vdso]") vdso = &m;
  }
  REQUIRE(vdso != nullptr);
  bool named_clock_gettime = false;
  for (uint64_t a = vdso->start; a < vdso->end; a += 4) {
    const ResolvedFrame& f = sym.resolve(a, false);
    REQUIRE(f.module == "[vdso]");
    CHECK(f.origin == FrameOrigin::kNative);
    named_clock_gettime |= f.frames.back().name.find("clock_gettime") != std::string::npos;
  }
  CHECK(named_clock_gettime);

  uint64_t schedule = kernel_symbol("schedule");
  uint64_t kaddr = schedule != 0 ? schedule + 1 : 0xffffffff81000010ULL;
  const ResolvedFrame& k = sym.resolve(kaddr, true);
  CHECK(k.origin == FrameOrigin::kKernel);
  CHECK(k.module == "[kernel.kallsyms]");
  REQUIRE(k.frames.size() == 1);
  if (schedule != 0) {
    CHECK(sym.kernel_symbols_usable());
    CHECK(k.frames.front().name == "schedule");
  } else {
    CHECK(k.frames.front().name == "[kernel]");
  }
  // Same address as user and kernel are different cache entries.
  CHECK(sym.resolve(kaddr, false).origin == FrameOrigin::kUnknown);
}

TEST_CASE("ProcessSymbolizer: tails a trusted perf map for anonymous code", "[process_symbolizer]") {
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("jit") == 1);
  const uint64_t jit = addrs["jit"];
  std::string path = write_perf_map(child.pid(),
                                    hex(jit) + " 100 JS:*fakeFn /srv/fake.js:3:4\n" + hex(jit + 0x100) +
                                        " 50 JS:~partial",  // no newline yet
                                    0644);
  Unlink cleanup{path};

  ProcessSymbolizer sym(child.pid());
  sym.refresh();
  const auto& status = sym.perf_map_status();
  CHECK(status.found);
  CHECK(status.trusted);
  CHECK(status.path == path);
  CHECK(status.entries == 1);

  const ResolvedFrame& f = sym.resolve(jit + 0x10, false);
  CHECK(f.origin == FrameOrigin::kJit);
  CHECK(f.module == "[jit]");
  REQUIRE(f.frames.size() == 1);
  CHECK(f.frames[0].name == "fakeFn");
  CHECK(f.frames[0].system_name == "JS:*fakeFn /srv/fake.js:3:4");
  CHECK(f.frames[0].file == "/srv/fake.js");
  CHECK(f.frames[0].line == 3);
  CHECK(f.frames[0].column == 4);
  CHECK(f.jit_tier == '*');
  CHECK(f.jit_kind == JitKind::kJs);

  const ResolvedFrame& p = sym.resolve(jit + 0x120, false);
  CHECK(p.frames[0].name == "[unknown] [jit]");  // its line is incomplete

  // The rest of the line arrives; a later entry replaces fakeFn.
  append(path, " /srv/p.js:1:1\n" + hex(jit) + " 100 JS:^newFn /srv/fake.js:9:1\n");
  sym.refresh();
  CHECK(sym.perf_map_status().entries == 2);
  // Recomputed: a new resolve sees the completed line (a reference taken before keeps the old result).
  const ResolvedFrame& completed = sym.resolve(jit + 0x120, false);
  CHECK(completed.frames[0].name == "partial");
  CHECK(completed.jit_tier == '~');
  CHECK(p.frames[0].name == "[unknown] [jit]");
  CHECK(sym.resolve(jit + 0x10, false).frames[0].name == "newFn");

  // Truncated and rewritten: start over.
  write_perf_map(child.pid(), hex(jit) + " 80 JS:*rewritten /r.js:1:1\n", 0644);
  sym.refresh();
  CHECK(sym.perf_map_status().entries == 1);
  CHECK(sym.resolve(jit + 0x10, false).frames[0].name == "rewritten");
  CHECK(sym.resolve(jit + 0x120, false).frames[0].name == "[unknown] [jit]");
}

namespace {
// A heap namer's answers, by id.
struct FakeHeapNames : loopperf::symbols::JsNameTable {
  std::map<uint32_t, loopperf::symbols::JsFrameName> names;
  bool js_frame(uint32_t id, loopperf::symbols::JsFrameName& out) const override {
    auto it = names.find(id);
    if (it == names.end()) return false;
    out = it->second;
    return true;
  }
};
loopperf::symbols::JsFrameName heap_name(const std::string& name, const std::string& file, int line) {
  loopperf::symbols::JsFrameName n;
  n.frame.name = name;
  n.frame.file = file;
  n.frame.line = line;
  n.frame.system_name = "JS:" + name + " " + file + ":" + std::to_string(line) + ":1";
  return n;
}
}  // namespace

TEST_CASE("ProcessSymbolizer: auto names from the map unless the heap, read at the sample, says otherwise",
          "[process_symbolizer]") {
  using loopperf::symbols::JsNameSource;
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("jit") == 1);
  const uint64_t jit = addrs["jit"];
  // The address holds newer code now than when the samples were taken: the map names the newer.
  std::string path = write_perf_map(child.pid(),
                                    hex(jit) + " 100 JS:*printDocToString /srv/doc.js:1202:28\n" + hex(jit) +
                                        " 100 JS:*i /srv/estree.mjs:7:1364\n",
                                    0644);
  Unlink cleanup{path};
  FakeHeapNames heap;
  heap.names[1] = heap_name("printDocToString", "/srv/doc.js", 1202);
  heap.names[2] = heap_name("i", "/srv/estree.mjs", 7);
  ProcessSymbolizer sym(child.pid());
  sym.set_js_names(loopperf::symbols::JsNamesMode::kAuto, &heap);
  sym.refresh();
  const loopperf::profile::Frame at{jit + 0x10, false, 0};
  CHECK(sym.resolve(at).frames[0].name == "i");  // no heap name: the map's

  loopperf::profile::Frame earlier = at;
  earlier.js = 1;  // the heap named the sample's frame printDocToString
  const ResolvedFrame& disagree = sym.resolve(earlier);
  CHECK(disagree.frames[0].name == "printDocToString");
  CHECK(disagree.frames[0].file == "/srv/doc.js");
  CHECK(disagree.js_source == JsNameSource::kHeap);
  CHECK(disagree.map_heap_agree == 0);  // counted as a disagreement all the same

  loopperf::profile::Frame now = at;
  now.js = 2;
  const ResolvedFrame& agree = sym.resolve(now);
  CHECK(agree.frames[0].name == "i");
  CHECK(agree.js_source == JsNameSource::kMap);
  CHECK(agree.jit_tier == '*');  // the map's tier stays
  CHECK(agree.map_heap_agree == 1);

  // A function the code at this address inlined: the heap's, and no comparison (the map has no
  // entry of its own for it).
  heap.names[3] = heap_name("escapeHtml", "/srv/render.js", 40);
  heap.names[3].inlined = true;
  loopperf::profile::Frame inlined = at;
  inlined.js = 3;
  const ResolvedFrame& in = sym.resolve(inlined);
  CHECK(in.frames[0].name == "escapeHtml");
  CHECK(in.js_source == JsNameSource::kHeap);
  CHECK(in.map_heap_agree == -1);
}

TEST_CASE("ProcessSymbolizer: ignores a perf map others could have written", "[process_symbolizer]") {
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("jit") == 1);
  const uint64_t jit = addrs["jit"];

  SECTION("world-writable") {
    std::string path = write_perf_map(child.pid(), hex(jit) + " 100 JS:*planted /evil.js:1:1\n", 0666);
    Unlink cleanup{path};
    ProcessSymbolizer sym(child.pid());
    sym.refresh();
    CHECK(sym.perf_map_status().found);
    CHECK_FALSE(sym.perf_map_status().trusted);
    CHECK(sym.perf_map_status().problem.find("writable") != std::string::npos);
    CHECK(sym.perf_map_status().entries == 0);
    CHECK(sym.resolve(jit, false).frames[0].name == "[unknown] [jit]");
  }
  SECTION("owned by another user") {
    if (::geteuid() != 0) LP_SKIP("section 'owned by another user': not root, cannot chown");
    std::string path = write_perf_map(child.pid(), hex(jit) + " 100 JS:*planted /evil.js:1:1\n", 0644);
    Unlink cleanup{path};
    REQUIRE(::chown(path.c_str(), 54321, 54321) == 0);
    ProcessSymbolizer sym(child.pid());
    sym.refresh();
    CHECK_FALSE(sym.perf_map_status().trusted);
    CHECK(sym.perf_map_status().problem.find("owned by uid 54321") != std::string::npos);
    CHECK(sym.resolve(jit, false).frames[0].name == "[unknown] [jit]");
  }
}

TEST_CASE("ProcessSymbolizer: a vanished pid never crashes", "[process_symbolizer]") {
  ProcessSymbolizer sym(99999999);
  sym.refresh();
  sym.refresh();
  CHECK(sym.maps().empty());
  CHECK(sym.resolve(0x401000, false).frames.front().name == "[unknown]");
  CHECK(sym.resolve(0x401000, false).origin == FrameOrigin::kUnknown);
  CHECK_FALSE(sym.perf_map_status().found);
}

// node never deletes /tmp/perf-PID.map and pids are reused: a map found by its name and last written
// more than 2 s before the target started is an earlier process's. The 2 s allow for the start
// time's precision (clock ticks, boot time in whole seconds) and a map node writes in its first
// moments; the boundary is checked on both sides.
TEST_CASE("ProcessSymbolizer: a perf map last written before the target started is an earlier process's",
          "[process_symbolizer]") {
  fixture::Child child;
  auto addrs = fixture::start_fixture(child);
  REQUIRE(addrs.count("jit") == 1);
  const uint64_t jit = addrs["jit"];
  auto start = loopperf::process::start_time(child.pid());
  REQUIRE(start.has_value());
  std::string path = write_perf_map(child.pid(), hex(jit) + " 100 JS:*old /old.js:1:1\n", 0644);
  Unlink cleanup{path};
  auto written_at = [&](double t) {
    timespec times[2];
    times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(t);
    times[0].tv_nsec = times[1].tv_nsec = static_cast<long>((t - static_cast<double>(static_cast<time_t>(t))) * 1e9);
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  };
  SECTION("1 s before the start: within the slack, kept") {
    written_at(*start - 1);
    ProcessSymbolizer sym(child.pid());
    sym.refresh();
    CHECK(sym.perf_map_status().trusted);
    CHECK(sym.resolve(jit, false).frames[0].name == "old");
  }
  SECTION("3 s before the start: ignored, and the warning says why") {
    written_at(*start - 3);
    ProcessSymbolizer sym(child.pid());
    sym.refresh();
    CHECK(sym.perf_map_status().found);
    CHECK_FALSE(sym.perf_map_status().trusted);
    CHECK(sym.perf_map_status().problem.find("last written before pid") != std::string::npos);
    CHECK(sym.resolve(jit, false).frames[0].name == "[unknown] [jit]");
  }
}
