#include <catch2/catch.hpp>

#include "loopperf/profile/labels.h"
#include "loopperf/profile/processes.h"

using namespace loopperf;
using profile::Profile;

namespace {

// A one-process profile as `record` writes it: one function, one location, `n` samples of thread
// `tid`, metadata naming the process.
Profile one_process(int64_t pid, const std::string& fn, int64_t n, int64_t time, int64_t duration) {
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.period_type = {"cpu", "nanoseconds"};
  p.period = 1001001;
  p.time_nanos = time;
  p.duration_nanos = duration;
  p.mappings.push_back({0x1000, 0x2000, 0, "/usr/bin/node", "abc", true, false, false});
  p.functions.push_back({fn, fn, "app.js", 1});
  p.functions.push_back({"shared", "shared", "lib.js", 7});
  p.locations.push_back({1, 0x1010, {{2, 7, 0}, {1, 3, 0}}});
  profile::Sample s;
  s.location_ids = {1};
  s.values = {n, n * 1001001};
  s.labels.push_back({std::string(profile::kTidLabel), "", pid, "", true});
  p.samples.push_back(s);
  p.set_meta("target.pid", std::to_string(pid));
  p.set_meta("target.cmdline", "node " + fn + ".js");
  p.set_meta("loop." + std::to_string(pid) + ".utilization", "0.5");
  return p;
}

}  // namespace

TEST_CASE("processes merge into one profile with pid labels and come apart again with their own metadata") {
  std::vector<profile::ProcessPart> parts;
  parts.push_back({100, one_process(100, "launcher", 3, 5'000, 9'000)});
  parts.push_back({200, one_process(200, "child", 7, 6'000, 2'000)});
  auto merged = profile::merge_processes(std::move(parts));
  REQUIRE(merged.ok());
  const Profile& m = *merged;
  CHECK(profile::process_ids(m) == std::vector<int64_t>{100, 200});
  REQUIRE(m.samples.size() == 2);
  CHECK(m.samples[0].num_label(profile::kPidLabel) == 100);
  CHECK(m.samples[1].num_label(profile::kPidLabel) == 200);
  // The launched process's metadata is the profile's; the other's is kept apart.
  CHECK(m.meta("target.cmdline") == "node launcher.js");
  CHECK(m.meta("process.200.target.cmdline") == "node child.js");
  // A function both run is stored once; each location points at the right functions.
  CHECK(m.functions.size() == 3);
  const profile::Location* child_loc = m.location(m.samples[1].location_ids[0]);
  REQUIRE(child_loc != nullptr);
  CHECK(m.function(child_loc->lines[1].function_id)->name == "child");
  CHECK(m.function(child_loc->lines[0].function_id)->name == "shared");
  CHECK(m.mapping(child_loc->mapping_id) != nullptr);

  auto child = profile::process_profile(m, 200);
  REQUIRE(child.ok());
  CHECK(child->samples.size() == 1);
  CHECK(child->samples[0].values[0] == 7);
  CHECK(child->meta("target.cmdline") == "node child.js");
  CHECK(child->meta("loop.200.utilization") == "0.5");
  CHECK(child->meta("processes").empty());
  CHECK(child->time_nanos == 6'000);
  CHECK(child->duration_nanos == 2'000);

  auto launched = profile::process_profile(m, 100);
  REQUIRE(launched.ok());
  CHECK(launched->samples.size() == 1);
  CHECK(launched->meta("target.cmdline") == "node launcher.js");
  CHECK(launched->meta("process.200.target.cmdline").empty());
  CHECK(launched->meta("processes").empty());
  CHECK(launched->duration_nanos == 9'000);

  auto missing = profile::process_profile(m, 300);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kUsage);
  CHECK(missing.error().hint.find("100, 200") != std::string::npos);
}

TEST_CASE("two programs of one pid (a wrapper that exec'd node) are one process, described by the first part") {
  std::vector<profile::ProcessPart> parts;
  parts.push_back({100, one_process(100, "node_program", 5, 5'000, 9'000)});
  parts.push_back({100, one_process(100, "env_wrapper", 1, 4'000, 1'000)});
  auto merged = profile::merge_processes(std::move(parts));
  REQUIRE(merged.ok());
  CHECK(profile::process_ids(*merged).empty());  // one process: no list
  CHECK(merged->samples.size() == 2);
  CHECK(merged->meta("target.cmdline") == "node node_program.js");
  CHECK(merged->meta("process.100.target.cmdline").empty());
  auto same = profile::process_profile(*merged, 100);
  REQUIRE(same.ok());
  CHECK(same->samples.size() == 2);
}

TEST_CASE("a profile of one process is its own process profile, parts of other sample types are refused") {
  Profile p = one_process(42, "solo", 2, 1, 1);
  CHECK(profile::process_ids(p).empty());
  auto same = profile::process_profile(p, 42);
  REQUIRE(same.ok());
  CHECK(same->samples.size() == 1);
  CHECK_FALSE(profile::process_profile(p, 43).ok());

  std::vector<profile::ProcessPart> parts;
  parts.push_back({1, one_process(1, "a", 1, 1, 1)});
  Profile other = one_process(2, "b", 1, 1, 1);
  other.sample_types = {{"samples", "count"}, {"wall", "nanoseconds"}};
  parts.push_back({2, std::move(other)});
  CHECK_FALSE(profile::merge_processes(std::move(parts)).ok());
}
