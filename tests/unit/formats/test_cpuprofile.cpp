// .cpuprofile: what DevTools' CPU profile importer relies on (unique ids, children that exist, one
// parent each, samples naming nodes, one timeDelta per sample), 0-based positions, synthesized time.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <set>

#include "json_value.h"
#include "labeled_profile.h"
#include "loopperf/formats/cpuprofile.h"

using namespace loopperf;
using test::Json;

namespace {

Json cpuprofile(const formats::CpuprofileOptions& opt = {}) {
  auto text = formats::to_cpuprofile(test::labeled_profile(), opt);
  REQUIRE(text.ok());
  return test::parse_json(*text);
}

// The checks DevTools' CPUProfileDataModel would trip over; returns hit counts by node id.
std::map<int64_t, const Json*> check_structure(const Json& doc) {
  std::map<int64_t, const Json*> nodes;
  for (const auto& n : doc["nodes"].arr) {
    CHECK(nodes.emplace(n["id"].i(), &n).second);
    CHECK(n["callFrame"].has("functionName"));
    CHECK(n["callFrame"]["scriptId"].kind == Json::kString);
    CHECK(n["callFrame"].has("url"));
    CHECK(n["callFrame"]["lineNumber"].kind == Json::kNumber);
    CHECK(n["callFrame"]["columnNumber"].kind == Json::kNumber);
  }
  REQUIRE_FALSE(nodes.empty());
  CHECK(doc["nodes"][0]["callFrame"]["functionName"].str == "(root)");
  std::map<int64_t, int> parents;
  for (const auto& [id, n] : nodes)
    for (const auto& c : (*n)["children"].arr) {
      CHECK(nodes.count(c.i()) == 1);
      parents[c.i()]++;
    }
  for (const auto& [id, n] : nodes) CHECK(parents[id] == (id == doc["nodes"][0]["id"].i() ? 0 : 1));
  REQUIRE(doc["samples"].arr.size() == doc["timeDeltas"].arr.size());
  std::map<int64_t, int64_t> hits;
  int64_t elapsed = 0;
  for (size_t i = 0; i < doc["samples"].arr.size(); i++) {
    CHECK(nodes.count(doc["samples"][i].i()) == 1);
    hits[doc["samples"][i].i()]++;
    CHECK(doc["timeDeltas"][i].i() >= 0);
    elapsed += doc["timeDeltas"][i].i();
  }
  for (const auto& [id, n] : nodes) CHECK((*n)["hitCount"].i() == hits[id]);
  CHECK(doc["endTime"].i() - doc["startTime"].i() == elapsed);
  return nodes;
}

std::vector<std::string> names(const Json& doc) {
  std::vector<std::string> out;
  for (const auto& n : doc["nodes"].arr) out.push_back(n["callFrame"]["functionName"].str);
  return out;
}

}  // namespace

TEST_CASE("cpuprofile: the main loop thread, structure DevTools accepts, synthesized time", "[cpuprofile]") {
  Json doc = cpuprofile();
  check_structure(doc);
  CHECK(doc["samples"].arr.size() == 12);  // main loop only: counts expanded one sample each
  for (const auto& d : doc["timeDeltas"].arr) CHECK(d.i() == 1000);  // period 1 ms in microseconds
  CHECK(doc["startTime"].i() == 1'700'000'000'000'000);
  CHECK(doc["endTime"].i() == 1'700'000'000'012'000);
  auto n = names(doc);
  CHECK(std::find(n.begin(), n.end(), "[timers]") == n.end());  // no phase roots by default
  CHECK(std::find(n.begin(), n.end(), "uv__work_done") == n.end());  // other threads left out
}

TEST_CASE("cpuprofile: call frames are 0-based with file URLs for JS", "[cpuprofile]") {
  Json doc = cpuprofile();
  bool seen_js = false, seen_native = false;
  for (const auto& n : doc["nodes"].arr) {
    const auto& cf = n["callFrame"];
    if (cf["functionName"].str == "authMiddleware") {
      seen_js = true;
      CHECK(cf["url"].str == "file:///srv/app.js");
      CHECK(cf["lineNumber"].i() == 16);
      CHECK(cf["columnNumber"].i() == 2);
      CHECK(cf["scriptId"].str != "0");
    }
    if (cf["functionName"].str == "uv_run") {
      seen_native = true;
      CHECK(cf["url"].str.empty());
      CHECK(cf["lineNumber"].i() == -1);
    }
  }
  CHECK(seen_js);
  CHECK(seen_native);
}

TEST_CASE("cpuprofile: thread choice and phase roots on request", "[cpuprofile]") {
  Json worker = cpuprofile({.phase_roots = false, .thread = "worker"});
  check_structure(worker);
  CHECK(worker["samples"].arr.size() == 4);
  Json pool = cpuprofile({.phase_roots = false, .thread = "300"});
  CHECK(pool["samples"].arr.size() == 2);

  Json every = cpuprofile({.phase_roots = false, .thread = {}, .all_threads = true});
  check_structure(every);
  CHECK(every["samples"].arr.size() == 18);

  Json phased = cpuprofile({.phase_roots = true, .thread = {}});
  check_structure(phased);
  std::set<std::string> top;
  for (const auto& c : phased["nodes"][0]["children"].arr)
    for (const auto& n : phased["nodes"].arr)
      if (n["id"].i() == c.i()) top.insert(n["callFrame"]["functionName"].str);
  CHECK(top == std::set<std::string>{"[timers]", "[poll]"});

  auto bad = formats::to_cpuprofile(test::labeled_profile(), {.phase_roots = false, .thread = "nosuch"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kUsage);
}

TEST_CASE("cpuprofile: a profile without thread labels or samples still loads", "[cpuprofile]") {
  auto p = test::labeled_profile();
  for (size_t i = 0; i < p.samples.size(); i++) p.samples.set_labels(i, {});
  auto text = formats::to_cpuprofile(p);
  REQUIRE(text.ok());
  Json all = test::parse_json(*text);
  check_structure(all);
  CHECK(all["samples"].arr.size() == 18);

  p.samples.clear();
  text = formats::to_cpuprofile(p);
  REQUIRE(text.ok());
  Json empty = test::parse_json(*text);
  check_structure(empty);
  CHECK(empty["nodes"].arr.size() == 1);
  CHECK(empty["startTime"].i() == empty["endTime"].i());
}
