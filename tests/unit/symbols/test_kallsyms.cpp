#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "loopperf/symbols/kallsyms.h"
#include "lp_skip.h"

using loopperf::symbols::Kallsyms;

namespace {

const char* kText =
    "ffffffff81000000 T _stext\n"
    "ffffffff81001000 T do_one_initcall\n"
    "ffffffff81001200 t helper_local\n"
    "ffffffff81002000 D some_data\n"  // data symbols never name a PC
    "ffffffff81003000 W weak_text\n"
    "ffffffff81f00000 T schedule\n"
    "ffffffffc0a00000 t ext4_map_blocks\t[ext4]\n"
    "ffffffffc0a00400 T ext4_iget\t[ext4]\n"
    "garbage line\n"
    "ffffffffc0b00000\n";

}  // namespace

TEST_CASE("kallsyms: nearest lower text symbol", "[kallsyms]") {
  Kallsyms k;
  k.parse(kText);
  REQUIRE(k.usable());
  CHECK(k.lookup(0xffffffff81000000) == "_stext");
  CHECK(k.lookup(0xffffffff81000fff) == "_stext");
  CHECK(k.lookup(0xffffffff81001004) == "do_one_initcall");
  CHECK(k.lookup(0xffffffff81001234) == "helper_local");
  CHECK(k.lookup(0xffffffff81002100) == "helper_local");  // D symbols are skipped
  CHECK(k.lookup(0xffffffff81003010) == "weak_text");
  CHECK(k.lookup(0xffffffff81f00010) == "schedule");
  CHECK(k.lookup(0xffffffff80ffffff).empty());  // below everything
}

TEST_CASE("kallsyms: module symbols drop the [module] suffix", "[kallsyms]") {
  Kallsyms k;
  k.parse(kText);
  CHECK(k.lookup(0xffffffffc0a00010) == "ext4_map_blocks");
  CHECK(k.lookup(0xffffffffc0a00500) == "ext4_iget");
}

TEST_CASE("kallsyms: far from any symbol is unknown", "[kallsyms]") {
  Kallsyms k;
  k.parse(kText);
  CHECK(k.lookup(0xffffffff81f00000 + (1 << 20) + 1).empty());
  CHECK(k.lookup(0xffffffffc0a00400 + (2 << 20)).empty());
}

TEST_CASE("kallsyms: kptr_restrict zeros make it unusable", "[kallsyms]") {
  Kallsyms k;
  k.parse(
      "0000000000000000 T _stext\n"
      "0000000000000000 T schedule\n"
      "0000000000000000 t ext4_map_blocks\t[ext4]\n");
  CHECK_FALSE(k.usable());
  CHECK(k.lookup(0xffffffff81000000).empty());
  k.parse("");
  CHECK_FALSE(k.usable());
}

TEST_CASE("kallsyms: load of a missing file is empty, load of a file parses it", "[kallsyms]") {
  Kallsyms k;
  k.load("/nonexistent/kallsyms");
  CHECK_FALSE(k.usable());

  std::string path = std::string(LOOPPERF_TEST_BUILD) + "/kallsyms_fixture.txt";
  {
    std::ofstream out(path);
    out << kText;
  }
  k.load(path);
  CHECK(k.usable());
  CHECK(k.lookup(0xffffffff81f00001) == "schedule");
  std::remove(path.c_str());
}

// Whether the kernel shows this process real addresses (kptr_restrict, CAP_SYSLOG,
// perf_event_paranoid) is read from /proc/kallsyms itself, not from Kallsyms: when the text holds a
// non-zero address for "schedule", Kallsyms must be usable and agree with it.
TEST_CASE("kallsyms: the real /proc/kallsyms when readable", "[kallsyms]") {
  std::ifstream in("/proc/kallsyms");
  if (!in) LP_SKIP("no /proc/kallsyms");
  std::string line;
  uint64_t schedule = 0;
  bool seen = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, type, name;
    fields >> addr >> type >> name;
    if (name == "schedule" && (type == "T" || type == "t")) {
      schedule = std::stoull(addr, nullptr, 16);
      seen = true;
      break;
    }
  }
  if (!seen) LP_SKIP("/proc/kallsyms lists no 'schedule'");
  if (schedule == 0) {
    std::string restrict_value;
    std::ifstream("/proc/sys/kernel/kptr_restrict") >> restrict_value;
    LP_SKIP("/proc/kallsyms shows zero addresses to this user (kptr_restrict=" << restrict_value << ")");
  }
  Kallsyms k;
  k.load();
  REQUIRE(k.usable());
  CHECK(k.lookup(schedule + 1) == "schedule");
}

TEST_CASE("kallsyms: load reads in chunks, and lines across chunk boundaries parse as with parse()", "[kallsyms]") {
  // ~300 KB: several 64 KiB reads, with lines split at every chunk edge; no final newline.
  std::string text;
  char line[128];
  for (int i = 0; i < 6000; i++) {
    std::snprintf(line, sizeof line, "ffffffff8%07x T function_number_%d_with_a_long_name%s\n", i * 0x100, i,
                  i % 3 ? "" : "\t[some_module]");
    text += line;
  }
  text += "ffffffff90000000 T last_one_without_newline";
  std::string path = std::string(LOOPPERF_TEST_BUILD) + "/kallsyms_chunks.txt";
  {
    std::ofstream out(path);
    out << text;
  }
  Kallsyms loaded, parsed;
  loaded.load(path);
  parsed.parse(text);
  std::remove(path.c_str());
  for (int i = 0; i < 6000; i++) {
    uint64_t addr = 0xffffffff80000000ULL + static_cast<uint64_t>(i) * 0x100 + 7;
    std::string want = "function_number_" + std::to_string(i) + "_with_a_long_name";
    REQUIRE(parsed.lookup(addr) == want);
    REQUIRE(loaded.lookup(addr) == want);
  }
  CHECK(loaded.lookup(0xffffffff90000010) == "last_one_without_newline");
}
