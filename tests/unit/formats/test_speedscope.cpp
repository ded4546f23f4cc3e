// speedscope JSON: the structure its file-format schema asks for (the integration test validates
// against the schema itself), one profile per thread with the main loop first, phase roots.
#include <catch2/catch.hpp>
#include <set>

#include "json_value.h"
#include "labeled_profile.h"
#include "loopperf/formats/speedscope.h"

using namespace loopperf;
using test::Json;

namespace {

Json speedscope(const formats::SpeedscopeOptions& opt = {}) {
  auto text = formats::to_speedscope(test::labeled_profile(), opt);
  REQUIRE(text.ok());
  return test::parse_json(*text);
}

const Json* frame_named(const Json& doc, const std::string& name) {
  for (const auto& f : doc["shared"]["frames"].arr)
    if (f["name"].str == name) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("speedscope: file header, profiles per thread with the main loop first", "[speedscope]") {
  Json doc = speedscope();
  CHECK(doc["$schema"].str == "https://www.speedscope.app/file-format-schema.json");
  CHECK(doc["name"].str == "node app.js --port=8080");
  CHECK(doc["activeProfileIndex"].i() == 0);
  REQUIRE(doc["profiles"].arr.size() == 3);
  CHECK(doc["profiles"][0]["name"].str == "node (100)");
  CHECK(doc["profiles"][1]["name"].str == "worker (200)");
  CHECK(doc["profiles"][2]["name"].str == "worker (300)");
  const size_t frames = doc["shared"]["frames"].arr.size();
  for (const auto& prof : doc["profiles"].arr) {
    INFO(prof["name"].str);
    CHECK(prof["type"].str == "sampled");
    CHECK(prof["unit"].str == "nanoseconds");  // pprof's default type for loopperf is cpu time
    CHECK(prof["startValue"].i() == 0);
    REQUIRE(prof["samples"].arr.size() == prof["weights"].arr.size());
    int64_t sum = 0;
    for (const auto& w : prof["weights"].arr) sum += w.i();
    CHECK(sum == prof["endValue"].i());
    for (const auto& stack : prof["samples"].arr)
      for (const auto& f : stack.arr) CHECK((f.i() >= 0 && static_cast<size_t>(f.i()) < frames));
  }
  CHECK(doc["profiles"][0]["endValue"].i() == 12'000'000);
}

TEST_CASE("speedscope: frames carry file and line, JIT tiers merge, stacks start at the phase root", "[speedscope]") {
  Json doc = speedscope();
  const Json* auth = frame_named(doc, "authMiddleware");
  REQUIRE(auth);
  CHECK(auth->operator[]("file").str == "/srv/app.js");
  CHECK(auth->operator[]("line").i() == 17);
  CHECK(auth->operator[]("col").i() == 3);
  std::set<std::string> names;
  for (const auto& f : doc["shared"]["frames"].arr) {
    CHECK(names.insert(f["name"].str + "@" + f["file"].str).second);  // no duplicate frames
  }
  const Json* uv = frame_named(doc, "uv_run");
  REQUIRE(uv);
  CHECK(uv->operator[]("file").str == "../deps/uv/src/unix/core.c");
  CHECK_FALSE(uv->has("line"));  // a native frame's sampled line is not the function's

  const auto& main = doc["profiles"][0];
  std::vector<std::string> roots;
  for (const auto& stack : main["samples"].arr) roots.push_back(doc["shared"]["frames"][stack[0].i()]["name"].str);
  // Merged per stack and ordered like one loop iteration: timers before poll.
  CHECK(roots == std::vector<std::string>{"[timers]", "[timers]", "[timers]", "[poll]"});
}

TEST_CASE("speedscope: --no-phase-roots, --value samples", "[speedscope]") {
  Json doc = speedscope({.phase_roots = false, .value_type = "samples", .name = "x"});
  CHECK(doc["name"].str == "x");
  CHECK(frame_named(doc, "[timers]") == nullptr);
  CHECK(doc["profiles"][0]["unit"].str == "none");
  CHECK(doc["profiles"][0]["endValue"].i() == 12);
}

TEST_CASE("speedscope: names that need escaping stay valid JSON", "[speedscope]") {
  auto p = test::labeled_profile();
  p.functions[1].name = "quote\" back\\slash \x01 </script> bad\xff utf8";
  auto text = formats::to_speedscope(p);
  REQUIRE(text.ok());
  Json doc = test::parse_json(*text);
  CHECK(text->find("</script>") == std::string::npos);
  CHECK(frame_named(doc, "authMiddleware") != nullptr);  // the other tier keeps its name
}
