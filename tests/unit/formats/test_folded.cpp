// Folded (collapsed) stacks: exact lines for a known profile, and the totals a reader sums back.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "labeled_profile.h"
#include "loopperf/formats/folded.h"

using namespace loopperf;

namespace {

// Parses folded text the way flamegraph.pl does: the count follows the last space.
std::map<std::string, int64_t> parse_folded(const std::string& text) {
  std::map<std::string, int64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    out[line.substr(0, sp)] += std::stoll(line.substr(sp + 1));
  }
  return out;
}

}  // namespace

TEST_CASE("folded: thread, phase root and frames root first, one line per stack", "[folded]") {
  auto text = formats::to_folded(test::labeled_profile());
  REQUIRE(text.ok());
  std::map<std::string, int64_t> expected = {
      {"node (100);[timers];uv_run;authMiddleware;JSON.parse: really", 3},
      // Two JIT tiers of authMiddleware are one frame.
      {"node (100);[timers];uv_run;authMiddleware", 6},
      {"node (100);[timers];uv_run;authMiddleware;v8::internal::Heap::CollectGarbage", 1},
      // Inlined uv__io_poll sits under its caller uv_run.
      {"node (100);[poll];uv_run;uv__io_poll;do_syscall_64", 2},
      {"worker (200);[check];uv_run;authMiddleware", 4},
      {"worker (300);[outside-loop];uv__work_done;[unknown]", 2},
  };
  CHECK(parse_folded(*text) == expected);
  CHECK(text->back() == '\n');
}

TEST_CASE("folded: totals equal the profile's sample count, weightless samples vanish", "[folded]") {
  auto text = formats::to_folded(test::labeled_profile());
  REQUIRE(text.ok());
  int64_t sum = 0;
  for (const auto& [stack, n] : parse_folded(*text)) sum += n;
  CHECK(sum == 18);
}

TEST_CASE("folded: --no-phase-roots, --value and profiles without thread labels", "[folded]") {
  auto p = test::labeled_profile();
  auto plain = formats::to_folded(p, {.phase_roots = false, .value_type = {}});
  REQUIRE(plain.ok());
  CHECK(parse_folded(*plain).count("node (100);uv_run;authMiddleware") == 1);
  CHECK(plain->find('[') == plain->find("[unknown]"));  // no phase roots left

  auto cpu = formats::to_folded(p, {.phase_roots = true, .value_type = "cpu"});
  REQUIRE(cpu.ok());
  CHECK(parse_folded(*cpu)["worker (200);[check];uv_run;authMiddleware"] == 4'000'000);

  auto bad = formats::to_folded(p, {.phase_roots = true, .value_type = "wall"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kUsage);
  CHECK(bad.error().hint.find("samples, cpu") != std::string::npos);

  // A profile from another tool: no thread, no phase; lines start at the root frame.
  for (size_t i = 0; i < p.samples.size(); i++) p.samples.set_labels(i, {});
  auto foreign = formats::to_folded(p);
  REQUIRE(foreign.ok());
  CHECK(parse_folded(*foreign)["uv_run;authMiddleware"] == 10);
}

TEST_CASE("folded: an empty profile is an empty file, a profile without sample types an error", "[folded]") {
  auto p = test::labeled_profile();
  p.samples.clear();
  auto empty = formats::to_folded(p);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  profile::Profile none;
  auto err = formats::to_folded(none);
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().code == ErrorCode::kInput);
}
