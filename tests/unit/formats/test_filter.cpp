// Filters: which samples survive each selector, the error messages that name the fix, and that the
// result is a well-formed profile (dense ids, unknown labels kept) that pprof encodes.
#include <catch2/catch.hpp>
#include <set>

#include "labeled_profile.h"
#include "loopperf/formats/filter.h"
#include "loopperf/formats/pprof.h"

using namespace loopperf;

namespace {

int64_t count(const profile::Profile& p) {
  int64_t n = 0;
  for (const auto& s : p.samples) n += s.values[0];
  return n;
}

profile::Profile filtered(const formats::FilterSpec& spec) {
  auto r = formats::filter_profile(test::labeled_profile(), spec);
  REQUIRE(r.ok());
  return std::move(*r);
}

formats::FilterSpec threads(std::vector<std::string> t) {
  formats::FilterSpec s;
  s.threads = std::move(t);
  return s;
}

}  // namespace

TEST_CASE("filter: thread selectors as report --thread takes them", "[filter]") {
  CHECK(count(filtered(threads({"main"}))) == 12);
  CHECK(count(filtered(threads({"100"}))) == 12);
  CHECK(count(filtered(threads({"node"}))) == 12);
  CHECK(count(filtered(threads({"node (100)"}))) == 12);
  CHECK(count(filtered(threads({"main-loop"}))) == 12);
  CHECK(count(filtered(threads({"worker"}))) == 4);
  CHECK(count(filtered(threads({"pool"}))) == 2);
  CHECK(count(filtered(threads({"libuv-pool"}))) == 2);
  CHECK(count(filtered(threads({"loop"}))) == 16);
  CHECK(count(filtered(threads({"main", "300"}))) == 14);  // alternatives within one option
}

TEST_CASE("filter: phase, activity and focus combine with AND", "[filter]") {
  formats::FilterSpec s;
  s.phases = {"timers"};
  CHECK(count(filtered(s)) == 10);
  s.activities = {"gc"};
  CHECK(count(filtered(s)) == 1);
  s = {};
  s.phases = {"timers", "poll"};
  CHECK(count(filtered(s)) == 12);
  s = {};
  s.focus = "^JSON\\.parse";
  CHECK(count(filtered(s)) == 3);
  s.focus = "authMiddleware";  // matches both JIT tiers and the worker
  CHECK(count(filtered(s)) == 14);
  s.threads = {"main"};
  s.phases = {"timers"};
  CHECK(count(filtered(s)) == 10);
}

TEST_CASE("filter: the result has dense ids, only used tables, all labels and the filter noted", "[filter]") {
  formats::FilterSpec s;
  s.threads = {"worker"};
  auto p = filtered(s);
  REQUIRE(p.samples.size() == 1);
  CHECK(p.locations.size() == 2);
  CHECK(p.functions.size() == 2);
  CHECK(p.mappings.size() == 2);
  for (const auto& loc : p.locations) {
    CHECK(p.mapping(loc.mapping_id) != nullptr);
    for (const auto& l : loc.lines) CHECK(p.function(l.function_id) != nullptr);
  }
  CHECK(p.function(p.location(p.samples[0].location_ids[0])->lines[0].function_id)->name == "authMiddleware");
  CHECK(p.samples[0].num_label("request_bytes") == 512);
  CHECK(p.meta("filter") == "thread=worker");
  CHECK(p.meta("target.cmdline") == "node /srv/app.js --port=8080");
  CHECK(p.period == 1'000'000);

  auto bytes = formats::encode_pprof(p);
  REQUIRE(bytes.ok());
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back.ok());
  CHECK(back->samples[0].num_label("request_bytes") == 512);
}

TEST_CASE("filter: an empty spec keeps everything and notes nothing", "[filter]") {
  auto p = filtered({});
  CHECK(p.samples.size() == test::labeled_profile().samples.size());
  CHECK(p.meta("filter").empty());
}

TEST_CASE("filter: mistakes are usage errors whose hint names the fix", "[filter]") {
  auto p = test::labeled_profile();
  formats::FilterSpec s;
  s.phases = {"pool"};
  auto r = formats::filter_profile(p, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kUsage);
  CHECK(r.error().hint.find("timers, pending, idle, prepare, poll, check, close") != std::string::npos);

  s = {};
  s.activities = {"javascript"};
  r = formats::filter_profile(p, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().hint.find("js, native, gc") != std::string::npos);

  r = formats::filter_profile(p, threads({"4242"}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("4242") != std::string::npos);
  CHECK(r.error().hint.find("node (100) [main-loop]") != std::string::npos);
  CHECK(r.error().hint.find("worker (300) [libuv-pool]") != std::string::npos);

  s = {};
  s.focus = "(unclosed";
  r = formats::filter_profile(p, s);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kUsage);
  CHECK(r.error().message.find("--focus") != std::string::npos);
}

TEST_CASE("filter: nothing matching is an empty profile, not an error", "[filter]") {
  formats::FilterSpec s;
  s.threads = {"main"};
  s.phases = {"close"};
  auto p = filtered(s);
  CHECK(p.samples.empty());
  CHECK(p.locations.empty());
  CHECK(p.sample_types.size() == 2);
}

TEST_CASE("filter: in place (the profile moved in) and by copy keep the same samples", "[filter]") {
  const auto whole = test::labeled_profile();
  std::vector<formats::FilterSpec> specs = {{}, threads({"main"}), threads({"worker", "pool"})};
  specs.push_back({});
  specs.back().phases = {"poll"};
  specs.push_back({});
  specs.back().focus = "auth";
  for (const auto& spec : specs) {
    auto copied = formats::filter_profile(whole, spec);
    profile::Profile mine = whole;
    auto in_place = formats::filter_profile(std::move(mine), spec);
    REQUIRE(copied.ok());
    REQUIRE(in_place.ok());
    REQUIRE(in_place->samples.size() == copied->samples.size());
    CHECK(in_place->locations.size() == copied->locations.size());
    CHECK(in_place->functions.size() == copied->functions.size());
    CHECK(in_place->meta("filter") == copied->meta("filter"));
    for (size_t i = 0; i < copied->samples.size(); i++) {
      const auto a = copied->samples[i], b = in_place->samples[i];
      CHECK(std::vector<uint32_t>(a.location_ids.begin(), a.location_ids.end()) ==
            std::vector<uint32_t>(b.location_ids.begin(), b.location_ids.end()));
      CHECK(std::vector<int64_t>(a.values.begin(), a.values.end()) ==
            std::vector<int64_t>(b.values.begin(), b.values.end()));
      CHECK(a.labels == b.labels);
    }
  }
}
