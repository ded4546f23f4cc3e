// The call-site table of the real node binary, cross-checked against the DWARF inline frames libuv's
// debug info gives for every call instruction inside uv_run. Generic: works for any node whose
// binary carries libuv's .symtab and debug info; the offsets measured on one build (node v20.20.2,
// see docs / node-internals.md 1.3) are checked only when the build id matches.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "loopperf/loop/call_sites.h"
#include "loopperf/loop/uv_run_phases.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "lp_skip.h"
#include "x86_length.h"

using loopperf::loop::CallSiteTable;
using loopperf::profile::Phase;
using loopperf::profile::phase_name;
using loopperf::symbols::ElfFile;

namespace {

// node v20.20.2 (nodejs 20.20.2-1nodesource1), libuv 1.46.0: the build measured by hand.
constexpr const char* kMeasuredBuildId = "ebeaf2df364d5eeb7096f0f7722a69eec6efdf3b";

std::string find_node() {
  if (const char* env = std::getenv("LOOPPERF_TEST_NODE"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::filesystem::path p = std::filesystem::path(dir) / "node";
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return std::filesystem::canonical(p, ec).string();
  }
  return "";
}

// stdout of a shell command ("" when it cannot run): the environment seen by other tools, not by
// the code under test.
std::string shell(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

bool have_tool(const char* tool) { return !shell(std::string("command -v ") + tool + " 2>/dev/null").empty(); }

// Whether `nm` lists uv_run in the binary's .symtab (a stripped distro node has none): decided by
// binutils, so a call-site table that fails on a binary that has the symbol is a failure, not a skip.
bool nm_has_uv_run(const std::string& binary) {
  return shell("nm '" + binary + "' 2>/dev/null | grep -c ' [Tt] uv_run$'").rfind("0", 0) != 0;
}

// The GNU build id as readelf prints it ("" when there is none).
std::string readelf_build_id(const std::string& binary) {
  std::string out = shell("readelf -n '" + binary + "' 2>/dev/null");
  auto at = out.find("Build ID: ");
  if (at == std::string::npos) return "";
  at += 10;
  return out.substr(at, out.find_first_of(" \n", at) - at);
}

std::string strip_clone(const std::string& s) {
  size_t dot = s.find('.');
  return dot == std::string::npos ? s : s.substr(0, dot);
}

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

// What libuv's source says the code at a call belongs to: the inlined static functions of the loop
// body (innermost first), or the called phase function itself.
struct Expected {
  std::optional<Phase> phase;
  std::string why;
};

Expected expected_phase(const std::vector<loopperf::symbols::SourceFrame>& chain, const std::string& callee) {
  for (const auto& f : chain) {
    const std::string n = strip_clone(f.name);
    if (n == "uv__run_pending") return {Phase::kPending, "inlined uv__run_pending"};
    if (n == "uv__run_closing_handles" || n == "uv__finish_close") return {Phase::kClose, "inlined " + n};
    if (n == "uv__backend_timeout") return {Phase::kPoll, "inlined uv__backend_timeout (the poll's timeout)"};
    if (n == "uv__update_time") return {Phase::kTimers, "inlined uv__update_time (timers' clock)"};
  }
  if (auto p = loopperf::loop::phase_of_callee(callee)) return {*p, "calls " + callee};
  return {std::nullopt, callee.empty() ? "indirect call in uv_run itself" : "calls " + callee};
}

std::string chain_text(const std::vector<loopperf::symbols::SourceFrame>& chain) {
  std::string s;
  for (const auto& f : chain) {
    if (!s.empty()) s += " <- ";
    s += f.name.empty() ? "?" : f.name;
    if (f.line) s += ":" + std::to_string(f.line);
  }
  return s;
}

struct CallSite {
  uint64_t return_offset;
  bool indirect;
  std::string callee;  // direct calls: symbol at the target ("" when none)
  std::vector<loopperf::symbols::SourceFrame> chain;
};

}  // namespace

TEST_CASE("node binary: uv_run's call-site table agrees with libuv's DWARF inline frames", "[loop][node]") {
  const std::string node = find_node();
  if (node.empty()) LP_SKIP("no node binary on PATH");
  if (!have_tool("nm")) LP_SKIP("no nm to tell whether " << node << " has a .symtab");
  if (!nm_has_uv_run(node)) LP_SKIP(node << " is stripped: nm finds no uv_run in its .symtab");
  auto opened = ElfFile::open_path(node);
  REQUIRE(opened.ok());
  ElfFile& elf = *opened.value();
  INFO("node = " << node << ", build id " << elf.build_id());

  uint64_t uv_run = 0, size = 0;
  std::string problem;
  CallSiteTable table = loopperf::loop::call_sites_for(elf, &uv_run, &problem);
  // nm lists uv_run: the table must be usable.
  INFO("problem: " << problem);
  REQUIRE(table.usable());
  REQUIRE(elf.symbol_address("uv_run", &size) == uv_run);
  REQUIRE(size > 0);
  const std::vector<uint8_t> code = elf.read_bytes(uv_run, size);
  REQUIRE(code.size() == size);

  // Sweep every instruction; the decoder must account for every byte and every branch inside
  // uv_run must land on an instruction it found (which proves the boundaries, hence the calls).
  x86::Sweep sweep = x86::sweep(code);
  INFO(sweep.error);
  REQUIRE(sweep.error.empty());
  std::set<uint64_t> starts;
  for (const auto& in : sweep.insns) starts.insert(in.offset);
  for (const auto& in : sweep.insns)
    if (in.branch_target && *in.branch_target >= 0 && static_cast<uint64_t>(*in.branch_target) < size)
      CHECK(starts.count(static_cast<uint64_t>(*in.branch_target)) == 1);

  std::vector<CallSite> calls;
  for (const auto& in : sweep.insns) {
    if (!in.direct_call && !in.indirect_call) continue;
    CallSite c{in.offset + in.length, in.indirect_call, "", {}};
    if (in.direct_call) c.callee = strip_clone(elf.symbol_starting_at(uv_run + *in.branch_target));
    c.chain = elf.lookup(uv_run + c.return_offset - 1).frames;
    calls.push_back(std::move(c));
  }

  // The table's direct calls are exactly the sweep's calls to named functions (no stray e8 byte
  // inside another instruction was taken for a call, none was missed).
  std::map<uint64_t, std::string> table_calls, sweep_calls;
  for (const auto& s : table.direct_calls()) table_calls[s.return_offset] = s.callee;
  for (const auto& c : calls)
    if (!c.indirect && !c.callee.empty()) sweep_calls[c.return_offset] = c.callee;
  CHECK(table_calls == sweep_calls);

  const bool have_dwarf = elf.has_line_info();
  size_t checked = 0, indirect_checked = 0;
  std::ostringstream listing;
  for (const auto& c : calls) {
    Phase got = table.phase_at(c.return_offset);
    Expected want = expected_phase(c.chain, c.callee);
    listing << "uv_run+" << hex(c.return_offset) << (c.indirect ? " indirect" : " call " + c.callee) << " -> "
            << phase_name(got) << "   [" << chain_text(c.chain) << "]  expected "
            << (want.phase ? std::string(phase_name(*want.phase)) : std::string("-")) << " (" << want.why << ")\n";
    if (!want.phase) continue;
    if (c.indirect && !have_dwarf) continue;
    // A direct call to an unnamed target is a PLT stub; in uv_run only __assert_fail (noreturn: its
    // "return address" is the next, unrelated assert block and never on a live stack).
    if (!c.indirect && c.callee.empty()) continue;
    INFO("call returning to uv_run+" << hex(c.return_offset) << ": " << want.why << "; inline chain "
                                     << chain_text(c.chain));
    CHECK(phase_name(got) == phase_name(*want.phase));
    checked++;
    if (c.indirect) indirect_checked++;
  }
  UNSCOPED_INFO(listing.str());
  // Every phase function must have been seen as a call site, and with DWARF the inlined pending
  // and closing-handles phases too (two pending sites since libuv 1.44.2).
  std::set<std::string> callees;
  for (const auto& c : calls) callees.insert(c.callee);
  for (const char* f : {"uv__run_timers", "uv__run_idle", "uv__run_prepare", "uv__io_poll", "uv__run_check"})
    CHECK(callees.count(f) == 1);
  if (have_dwarf) {
    size_t pending = 0, close = 0;
    for (const auto& c : calls) {
      if (!c.indirect) continue;
      Expected want = expected_phase(c.chain, c.callee);
      pending += want.phase == Phase::kPending;
      close += want.phase == Phase::kClose;
    }
    CHECK(pending >= 1);
    CHECK(close >= 1);
    CHECK(indirect_checked >= 2);
  }
  CHECK(checked >= 7);

  if (have_tool("readelf")) CHECK(elf.build_id() == readelf_build_id(node));
}

// The offsets measured on one build, checked when readelf (not the code under test) says the node
// on PATH is that build.
TEST_CASE("node binary: the measured v20.20.2 build has the known uv_run call-site phases", "[loop][node]") {
  const std::string node = find_node();
  if (node.empty()) LP_SKIP("no node binary on PATH");
  if (!have_tool("readelf")) LP_SKIP("no readelf to read " << node << "'s build id");
  const std::string id = readelf_build_id(node);
  if (id != kMeasuredBuildId) LP_SKIP(node << " is build " << id << ", not the measured v20.20.2 build");
  auto opened = ElfFile::open_path(node);
  REQUIRE(opened.ok());
  ElfFile& elf = *opened.value();
  REQUIRE(elf.build_id() == id);
  uint64_t uv_run = 0, size = 0;
  std::string problem;
  CallSiteTable table = loopperf::loop::call_sites_for(elf, &uv_run, &problem);
  INFO("problem: " << problem);
  REQUIRE(table.usable());
  REQUIRE(elf.symbol_address("uv_run", &size) == uv_run);
  const std::vector<uint8_t> code = elf.read_bytes(uv_run, size);
  REQUIRE(code.size() == size);
  x86::Sweep sweep = x86::sweep(code);
  REQUIRE(sweep.error.empty());
  // The measured build: return addresses seen in perf profiles and disassembly (node-internals.md 1.3).
  const std::pair<uint64_t, Phase> kKnown[] = {
      {0x84, Phase::kTimers}, {0x11d, Phase::kPending}, {0x133, Phase::kIdle},    {0x13b, Phase::kPrepare},
      {0x187, Phase::kPoll},  {0x1ed, Phase::kPending}, {0x20c, Phase::kCheck},   {0x2c1, Phase::kClose},
      {0x2f4, Phase::kTimers},
      // hrtime = inlined uv__update_time before the timers runs
      {0x64, Phase::kTimers}, {0x2d4, Phase::kTimers},
      // uv__stream_destroy / uv__udp_finish_close: inlined uv__finish_close (the latter out of line)
      {0x278, Phase::kClose}, {0x358, Phase::kClose},
      // uv__next_timeout: inlined uv__backend_timeout, placed out of line after the loop body
      {0x3e4, Phase::kPoll},
  };
  for (const auto& [off, phase] : kKnown) {
    INFO("uv_run+" << hex(off));
    CHECK(phase_name(table.phase_at(off)) == phase_name(phase));
  }
  std::set<uint64_t> indirect;
  for (const auto& in : sweep.insns)
    if (in.indirect_call) indirect.insert(in.offset + in.length);
  CHECK(indirect == std::set<uint64_t>{0x11d, 0x1ed, 0x2c1});
  CHECK(size == 0x4a3);
}
