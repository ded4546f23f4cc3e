// encode_pprof -> decode_pprof keeps everything the model holds, and the encoded bytes obey pprof's
// own invariants when read with the generated protobuf classes (what Go's pprof would see).

// Designated initializers leave the remaining members value-initialised; GCC 12's
// -Wmissing-field-initializers still flags members without a default initializer.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "../../../src/formats/pprof_detail.h"
#include "loopperf/formats/pprof.h"
#include "profile.pb.h"
#include "sample_profiles.h"

using namespace loopperf;
namespace pb = perftools::profiles;

namespace {

pb::Profile parse_plain(const std::string& bytes) {
  pb::Profile out;
  REQUIRE(out.ParseFromString(bytes));
  return out;
}

std::string comment_text(const pb::Profile& pp, int i) {
  return pp.string_table(static_cast<int>(pp.comment(i)));
}

}  // namespace

TEST_CASE("pprof round trip keeps every field of the model", "[pprof]") {
  profile::Profile p = test::rich_profile();
  for (bool gzip : {true, false}) {
    INFO("gzip " << gzip);
    auto bytes = formats::encode_pprof(p, gzip);
    REQUIRE(bytes.ok());
    REQUIRE(formats::detail::is_gzip(*bytes) == gzip);
    auto back = formats::decode_pprof(*bytes);
    REQUIRE(back.ok());
    test::require_same(p, *back);
    // Helpers work on the decoded profile as on the original.
    CHECK(back->samples[1].str_label("thread") == "libuv-worker");
    CHECK(back->samples[1].num_label("bytes") == 4096);
    CHECK(back->meta("target") == "node app.js --port=8080");
  }
}

TEST_CASE("pprof round trip of an empty profile", "[pprof]") {
  profile::Profile p;
  auto bytes = formats::encode_pprof(p);
  REQUIRE(bytes.ok());
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back.ok());
  test::require_same(p, *back);
}

TEST_CASE("pprof encoding is stable: encode(decode(encode(p))) == encode(p)", "[pprof]") {
  auto first = formats::encode_pprof(test::rich_profile(), false);
  REQUIRE(first.ok());
  auto decoded = formats::decode_pprof(*first);
  REQUIRE(decoded.ok());
  auto second = formats::encode_pprof(*decoded, false);
  REQUIRE(second.ok());
  CHECK(*first == *second);
}

TEST_CASE("encoded pprof obeys profile.proto invariants", "[pprof]") {
  profile::Profile p = test::rich_profile();
  auto bytes = formats::encode_pprof(p, false);
  REQUIRE(bytes.ok());
  pb::Profile pp = parse_plain(*bytes);

  REQUIRE(pp.string_table_size() > 0);
  CHECK(pp.string_table(0).empty());
  std::set<std::string> unique(pp.string_table().begin(), pp.string_table().end());
  CHECK(unique.size() == static_cast<size_t>(pp.string_table_size()));
  auto in_range = [&](int64_t idx) { return idx >= 0 && idx < pp.string_table_size(); };

  std::set<uint64_t> mapping_ids, location_ids, function_ids;
  for (const auto& m : pp.mapping()) {
    CHECK(m.id() != 0);
    CHECK(mapping_ids.insert(m.id()).second);
    CHECK(in_range(m.filename()));
    CHECK(in_range(m.build_id()));
  }
  for (const auto& f : pp.function()) {
    CHECK(f.id() != 0);
    CHECK(function_ids.insert(f.id()).second);
    CHECK(in_range(f.name()));
    CHECK(in_range(f.system_name()));
    CHECK(in_range(f.filename()));
  }
  for (const auto& l : pp.location()) {
    CHECK(l.id() != 0);
    CHECK(location_ids.insert(l.id()).second);
    CHECK((l.mapping_id() == 0 || mapping_ids.count(l.mapping_id())));
    for (const auto& ln : l.line()) CHECK(function_ids.count(ln.function_id()));
  }
  REQUIRE(pp.sample_type_size() == 2);
  for (const auto& s : pp.sample()) {
    CHECK(s.value_size() == pp.sample_type_size());
    for (uint64_t id : s.location_id()) CHECK(location_ids.count(id));
    for (const auto& l : s.label()) {
      CHECK(in_range(l.key()));
      CHECK(in_range(l.str()));
      CHECK(in_range(l.num_unit()));
      CHECK((l.str() == 0 || (l.num() == 0 && l.num_unit() == 0)));  // never both kinds at once
    }
  }

  // Spot checks against the model.
  CHECK(pp.string_table(static_cast<int>(pp.sample_type(1).type())) == "cpu");
  CHECK(pp.string_table(static_cast<int>(pp.default_sample_type())) == "cpu");
  CHECK(pp.string_table(static_cast<int>(pp.period_type().unit())) == "nanoseconds");
  CHECK(pp.period() == p.period);
  CHECK(pp.time_nanos() == p.time_nanos);
  CHECK(pp.duration_nanos() == p.duration_nanos);
  CHECK(pp.mapping(0).memory_start() == 0x400000);
  CHECK(pp.mapping(1).file_offset() == 0x1000);
  CHECK(pp.mapping(0).has_inline_frames());  // location 2 has two lines
  CHECK_FALSE(pp.mapping(1).has_inline_frames());
  CHECK(pp.location(1).line_size() == 2);
  CHECK(pp.location(1).line(0).function_id() == 4);  // innermost first
  CHECK(pp.sample(0).location_id(0) == 3);           // leaf first
  const auto& bytes_label = pp.sample(1).label(1);
  CHECK(pp.string_table(static_cast<int>(bytes_label.key())) == "bytes");
  CHECK(bytes_label.num() == 4096);
  CHECK(pp.string_table(static_cast<int>(bytes_label.num_unit())) == "bytes");

  // Comments verbatim first, then metadata as loopperf:KEY=VALUE.
  REQUIRE(pp.comment_size() == 6);
  CHECK(comment_text(pp, 0) == "recorded by a test");
  CHECK(comment_text(pp, 2) == "loopperf: not metadata, no equals sign");
  CHECK(comment_text(pp, 3) == "loopperf:target=node app.js --port=8080");
  CHECK(comment_text(pp, 5) == "loopperf:lost=0");
}

TEST_CASE("gzip output inflates to the plain encoding", "[pprof]") {
  auto plain = formats::encode_pprof(test::rich_profile(), false);
  auto gz = formats::encode_pprof(test::rich_profile(), true);
  REQUIRE(plain.ok());
  REQUIRE(gz.ok());
  REQUIRE(gz->size() > 18);
  CHECK(static_cast<unsigned char>((*gz)[0]) == 0x1f);
  CHECK(static_cast<unsigned char>((*gz)[1]) == 0x8b);
  auto inflated = formats::detail::gunzip(*gz);
  REQUIRE(inflated.ok());
  CHECK(*inflated == *plain);
}

TEST_CASE("Line.column is not in Debian's profile.proto and is dropped", "[pprof]") {
  profile::Profile p = test::rich_profile();
  p.locations[0].lines[0].column = 3;
  auto bytes = formats::encode_pprof(p);
  REQUIRE(bytes.ok());
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back.ok());
  CHECK(back->locations[0].lines[0].column == 0);
  // The JS column still travels in system_name.
  CHECK(back->functions[2].system_name == "JS:*authMiddleware app.js:17:3");
}

TEST_CASE("labels: empty string values come back as numeric zero, as in Go's pprof", "[pprof]") {
  profile::Profile p;
  p.sample_types = {{"samples", "count"}};
  p.samples = {{.location_ids = {}, .values = {1}, .labels = {{.key = "empty", .str = ""}}}};
  auto back = formats::decode_pprof(*formats::encode_pprof(p));
  REQUIRE(back.ok());
  REQUIRE(back->samples[0].labels.size() == 1);
  CHECK(back->samples[0].labels[0].is_num);
  CHECK(back->samples[0].labels[0].num == 0);
}

TEST_CASE("strings that are not UTF-8 are encoded with replacement characters", "[pprof]") {
  profile::Profile p;
  p.functions = {{.name = "bad\xff\xfename", .system_name = "ok"}, {.name = "ok"}};
  p.mappings = {{.file = "/tmp/\xc3(.so"}};
  auto bytes = formats::encode_pprof(p, false);
  REQUIRE(bytes.ok());
  parse_plain(*bytes);  // the generated parser would refuse invalid UTF-8
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back.ok());
  CHECK(back->functions[0].name == "bad\xef\xbf\xbd\xef\xbf\xbdname");
  CHECK(back->mappings[0].file == "/tmp/\xef\xbf\xbd(.so");
  CHECK(back->functions[1].name == "ok");
}

TEST_CASE("encoding a model with dangling ids is an internal error", "[pprof]") {
  SECTION("sample -> location") {
    profile::Profile p;
    p.samples = {{.location_ids = {1}}};
    auto r = formats::encode_pprof(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInternal);
    CHECK_THAT(r.error().message, Catch::Contains("location 1"));
  }
  SECTION("location -> mapping") {
    profile::Profile p;
    p.locations = {{.mapping_id = 2}};
    auto r = formats::encode_pprof(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("mapping 2"));
  }
  SECTION("line -> function") {
    profile::Profile p;
    p.locations = {{.lines = {{.function_id = 5}}}};
    auto r = formats::encode_pprof(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("function 5"));
  }
  SECTION("value count") {
    profile::Profile p;
    p.sample_types = {{"a", "b"}};
    p.samples = {{.values = {1, 2}}};
    auto r = formats::encode_pprof(p);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("2 values"));
  }
}
