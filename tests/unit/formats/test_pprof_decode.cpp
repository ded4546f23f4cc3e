// decode_pprof on input loopperf did not write: other tools' id schemes, broken files and garbage.

// Designated initializers leave the remaining members value-initialised; GCC 12's
// -Wmissing-field-initializers still flags members without a default initializer.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "../../../src/formats/pprof_detail.h"
#include "loopperf/formats/pprof.h"
#include "profile.pb.h"
#include "sample_profiles.h"

using namespace loopperf;
namespace pb = perftools::profiles;

namespace {

// A profile as another tool might write it: sparse ids in no particular order, labels we do not know.
pb::Profile foreign_profile() {
  pb::Profile pp;
  for (const char* s : {"", "samples", "count", "cpu", "nanoseconds", "/usr/lib/libfoo.so", "foo", "bar",
                        "foo.c", "span_id", "abc123", "alloc", "bytes", "plain comment", "loopperf:rate=99",
                        "loopperf:noequals", "loopperf:k=v=w"})
    pp.add_string_table(s);
  auto* st = pp.add_sample_type();
  st->set_type(1), st->set_unit(2);
  st = pp.add_sample_type();
  st->set_type(3), st->set_unit(4);
  auto* m = pp.add_mapping();
  m->set_id(1000), m->set_memory_start(0x1000), m->set_memory_limit(0x9000), m->set_filename(5);
  m->set_has_inline_frames(true);
  auto* f = pp.add_function();
  f->set_id(9), f->set_name(7), f->set_system_name(7), f->set_filename(8), f->set_start_line(40);
  f = pp.add_function();
  f->set_id(5), f->set_name(6), f->set_system_name(6), f->set_filename(8), f->set_start_line(4);
  auto* l = pp.add_location();
  l->set_id(42), l->set_mapping_id(1000), l->set_address(0x1234);
  auto* ln = l->add_line();
  ln->set_function_id(5), ln->set_line(7);
  ln = l->add_line();
  ln->set_function_id(9), ln->set_line(50);
  l = pp.add_location();
  l->set_id(7), l->set_mapping_id(0), l->set_address(0x99);
  ln = l->add_line();
  ln->set_function_id(0);  // 0 = no function, allowed
  auto* s = pp.add_sample();
  s->add_location_id(7), s->add_location_id(42), s->add_value(3), s->add_value(30);
  auto* lab = s->add_label();
  lab->set_key(9), lab->set_str(10);
  lab = s->add_label();
  lab->set_key(11), lab->set_num(512), lab->set_num_unit(12);
  s = pp.add_sample();
  s->add_location_id(42), s->add_value(1), s->add_value(10);
  for (int c : {13, 14, 15, 16}) pp.add_comment(c);
  pp.set_period(1000), pp.set_default_sample_type(3);
  pp.mutable_period_type()->set_type(3), pp.mutable_period_type()->set_unit(4);
  return pp;
}

void require_input_error(const Result<profile::Profile>& r, const std::string& fragment) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInput);
  CHECK_THAT(r.error().message, Catch::Contains(fragment));
  CHECK_THAT(r.error().hint, Catch::Contains("is this a pprof file?"));
}

std::string gzip(const std::string& s) { return *formats::detail::gzip_compress(s); }

}  // namespace

TEST_CASE("decode maps foreign, non-contiguous ids to index + 1", "[pprof]") {
  pb::Profile pp = foreign_profile();
  for (bool compressed : {false, true}) {
    INFO("gzip " << compressed);
    std::string bytes = pp.SerializeAsString();
    auto r = formats::decode_pprof(compressed ? gzip(bytes) : bytes);
    REQUIRE(r.ok());
    const profile::Profile& p = *r;
    REQUIRE(p.locations.size() == 2);
    REQUIRE(p.functions.size() == 2);
    REQUIRE(p.mappings.size() == 1);
    // Location 42 is first in the file -> id 1, location 7 -> id 2. Function 9 -> 1, function 5 -> 2.
    CHECK(std::vector<uint64_t>(p.samples[0].location_ids.begin(), p.samples[0].location_ids.end()) == std::vector<uint64_t>{2, 1});
    CHECK(std::vector<uint64_t>(p.samples[1].location_ids.begin(), p.samples[1].location_ids.end()) == std::vector<uint64_t>{1});
    CHECK(p.locations[0].mapping_id == 1);
    CHECK(p.locations[0].address == 0x1234);
    REQUIRE(p.locations[0].lines.size() == 2);
    CHECK(p.locations[0].lines[0].function_id == 2);
    CHECK(p.function(p.locations[0].lines[0].function_id)->name == "foo");
    CHECK(p.locations[0].lines[1].function_id == 1);
    CHECK(p.function(p.locations[0].lines[1].function_id)->name == "bar");
    CHECK(p.locations[1].mapping_id == 0);
    CHECK(p.locations[1].lines[0].function_id == 0);
    CHECK(p.mappings[0].file == "/usr/lib/libfoo.so");
    CHECK(p.functions[0].start_line == 40);
    // Unknown labels are kept.
    CHECK(p.samples[0].str_label("span_id") == "abc123");
    REQUIRE(p.samples[0].label("alloc"));
    CHECK(p.samples[0].label("alloc")->num == 512);
    CHECK(p.samples[0].label("alloc")->num_unit == "bytes");
    CHECK(std::vector<int64_t>(p.samples[1].values.begin(), p.samples[1].values.end()) == std::vector<int64_t>{1, 10});
    CHECK(p.default_sample_type == "cpu");
    CHECK(p.period_type == profile::ValueType{"cpu", "nanoseconds"});
    // "loopperf:" comments with '=' are metadata (split at the first '='); the rest stay comments.
    CHECK(p.comments == std::vector<std::string>{"plain comment", "loopperf:noequals"});
    CHECK(p.meta("rate") == "99");
    CHECK(p.meta("k") == "v=w");
  }
}

TEST_CASE("decode merges identical samples, reads numbers packed or not, and skips unknown fields", "[pprof]") {
  pb::Profile pp = foreign_profile();
  // Sample 0 again (same locations, same labels in the same order): merged, values added.
  *pp.add_sample() = pp.sample(0);
  // Sample 1's stack with a label: a sample of its own.
  auto* s = pp.add_sample();
  s->add_location_id(42), s->add_value(2), s->add_value(20);
  s->add_label()->set_key(9), s->mutable_label(0)->set_str(10);
  // Sample 0's labels on another stack: a sample of its own, whose label list is sample 0's.
  s = pp.add_sample();
  *s = pp.sample(0);
  s->clear_location_id();
  s->add_location_id(7);
  std::string bytes = pp.SerializeAsString();
  // Sample 1 once more, written unpacked (proto2 style: one varint field per number) with an unknown
  // field and an unknown group: the generated parser accepts all of it, so must we.
  std::string unpacked = {0x08, 42, 0x10, 4, 0x10, 40, static_cast<char>(0xa0), 0x06, 0x01, 0x7b, 0x08, 0x01, 0x7c};
  bytes += std::string{0x12, static_cast<char>(unpacked.size())} + unpacked;
  auto r = formats::decode_pprof(bytes);
  REQUIRE(r.ok());
  const profile::Profile& p = *r;
  REQUIRE(p.samples.size() == 4);
  CHECK(std::vector<int64_t>(p.samples[0].values.begin(), p.samples[0].values.end()) == std::vector<int64_t>{6, 60});
  CHECK(p.samples[0].str_label("span_id") == "abc123");
  CHECK(std::vector<uint64_t>(p.samples[1].location_ids.begin(), p.samples[1].location_ids.end()) == std::vector<uint64_t>{1});
  CHECK(std::vector<int64_t>(p.samples[1].values.begin(), p.samples[1].values.end()) == std::vector<int64_t>{5, 50});
  CHECK(p.samples[1].labels.empty());
  CHECK(std::vector<int64_t>(p.samples[2].values.begin(), p.samples[2].values.end()) == std::vector<int64_t>{2, 20});
  CHECK(p.samples[2].str_label("span_id") == "abc123");
  // Equal label sets are held once (profile::Labels): millions of samples share a few lists.
  CHECK(std::vector<uint64_t>(p.samples[3].location_ids.begin(), p.samples[3].location_ids.end()) == std::vector<uint64_t>{2});
  CHECK(p.samples[3].labels.shares_list_with(p.samples[0].labels));
  CHECK_FALSE(p.samples[2].labels.shares_list_with(p.samples[0].labels));
  // Changing one copy leaves the other as it was (copy on write).
  profile::Sample changed = p.samples[3].copy();
  changed.labels.mutate()[0].str = "other";
  CHECK(p.samples[0].str_label("span_id") == "abc123");
  CHECK_FALSE(changed.labels.shares_list_with(p.samples[0].labels));
}

TEST_CASE("decode repairs string tables that are not UTF-8", "[pprof]") {
  pb::Profile pp = foreign_profile();
  pp.add_comment(17);
  std::string bytes = pp.SerializeAsString();
  // Appending a field to a serialized message appends to the repeated field: string 17 is "bad\xff",
  // which the generated parser alone would refuse.
  bytes += std::string(
      "\x32\x04"
      "bad\xff",
      6);
  SECTION("plain") {}
  SECTION("after an unknown group, which the parser skips") {
    bytes += std::string(
        "\xa3\x06"
        "\x08\x01"
        "\xa4\x06",
        6);  // field 100: start group, varint, end group
  }
  auto r = formats::decode_pprof(bytes);
  REQUIRE(r.ok());
  CHECK(r->functions[0].name == "bar");
  REQUIRE(r->comments.size() == 3);
  CHECK(r->comments[2] == "bad\xef\xbf\xbd");
}

TEST_CASE("decode rejects broken references with a message naming the problem", "[pprof]") {
  SECTION("sample location id pointing nowhere") {
    pb::Profile pp = foreign_profile();
    pp.mutable_sample(1)->set_location_id(0, 99);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "location id 99");
  }
  SECTION("location mapping id pointing nowhere") {
    pb::Profile pp = foreign_profile();
    pp.mutable_location(0)->set_mapping_id(1);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "mapping id 1,");
  }
  SECTION("line function id pointing nowhere") {
    pb::Profile pp = foreign_profile();
    pp.mutable_location(1)->mutable_line(0)->set_function_id(6);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "function id 6");
  }
  SECTION("value count differs from sample_type count") {
    pb::Profile pp = foreign_profile();
    pp.mutable_sample(1)->add_value(5);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "3 values");
  }
  SECTION("string index out of range") {
    pb::Profile pp = foreign_profile();
    pp.mutable_function(1)->set_name(1000);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "string index 1000");
  }
  SECTION("negative string index") {
    pb::Profile pp = foreign_profile();
    pp.mutable_sample(0)->mutable_label(0)->set_key(-1);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "label key");
  }
  SECTION("comment index out of range") {
    pb::Profile pp = foreign_profile();
    pp.add_comment(17);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "comment 4");
  }
  SECTION("unbalanced group") {
    std::string bytes = foreign_profile().SerializeAsString() + std::string("\xa3\x06", 2);
    require_input_error(formats::decode_pprof(bytes), "garbled");
  }
  SECTION("string_table[0] not empty") {
    pb::Profile pp = foreign_profile();
    pp.set_string_table(0, "x");
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "string_table[0]");
  }
  SECTION("duplicate ids") {
    pb::Profile pp = foreign_profile();
    pp.mutable_function(1)->set_id(9);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "share the id 9");
  }
  SECTION("reserved id 0") {
    pb::Profile pp = foreign_profile();
    pp.mutable_location(1)->set_id(0);
    require_input_error(formats::decode_pprof(pp.SerializeAsString()), "reserved id 0");
  }
}

TEST_CASE("decode rejects input that is not a profile", "[pprof]") {
  SECTION("empty file") { require_input_error(formats::decode_pprof(""), "empty"); }
  SECTION("text") { require_input_error(formats::decode_pprof("hello, world\n"), ""); }
  SECTION("empty gzip") { require_input_error(formats::decode_pprof(gzip("")), "inflates to nothing"); }
  SECTION("a valid gzip of garbage") {
    require_input_error(formats::decode_pprof(gzip("this is not a protobuf \xff\xff\xff\xff")), "");
  }
  SECTION("a valid empty protobuf message has no string table") {
    require_input_error(formats::decode_pprof(gzip(std::string("\x38\x00", 2))), "string_table[0]");
  }
  SECTION("corrupt gzip body") {
    std::string gz = gzip(std::string(1000, 'a'));
    gz[12] = static_cast<char>(gz[12] ^ 0x55);
    gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0x55);  // also break the CRC
    require_input_error(formats::decode_pprof(gz), "gzip");
  }
  SECTION("trailing garbage after the gzip stream") {
    require_input_error(formats::decode_pprof(*formats::encode_pprof(test::rich_profile()) + "junk"),
                        "after the end");
  }
}

TEST_CASE("decode reports every truncation of a gzipped profile", "[pprof]") {
  std::string gz = *formats::encode_pprof(test::rich_profile());
  for (size_t n = 2; n < gz.size(); n++) {
    INFO("truncated to " << n << " of " << gz.size() << " bytes");
    auto r = formats::decode_pprof(gz.substr(0, n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInput);
    CHECK_THAT(r.error().message, Catch::Contains("truncated"));
  }
}

TEST_CASE("decode never crashes on random or mutated bytes", "[pprof]") {
  std::mt19937 rng(12345);
  auto check = [](const std::string& bytes) {
    auto r = formats::decode_pprof(bytes);
    if (!r.ok()) REQUIRE(r.error().code == ErrorCode::kInput);
  };
  for (int i = 0; i < 500; i++) {
    std::string bytes(rng() % 300, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    check(bytes);
    check(gzip(bytes));
  }
  std::string plain = *formats::encode_pprof(test::rich_profile(), false);
  for (int i = 0; i < 3000; i++) {
    std::string bytes = plain;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; k++)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    check(bytes);
  }
}

TEST_CASE("gunzip enforces its size cap and accepts concatenated members", "[pprof]") {
  std::string zeros(1 << 20, '\0');
  std::string bomb = gzip(zeros);
  CHECK(bomb.size() < 5000);
  auto r = formats::detail::gunzip(bomb, 1000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInput);
  CHECK_THAT(r.error().message, Catch::Contains("too large"));
  auto exact = formats::detail::gunzip(bomb, zeros.size());
  REQUIRE(exact.ok());
  CHECK(*exact == zeros);

  std::string plain = *formats::encode_pprof(test::rich_profile(), false);
  std::string two = gzip(plain.substr(0, 100)) + gzip(plain.substr(100));
  auto joined = formats::detail::gunzip(two);
  REQUIRE(joined.ok());
  CHECK(*joined == plain);
  auto p = formats::decode_pprof(two);
  REQUIRE(p.ok());
  test::require_same(test::rich_profile(), *p);
}

TEST_CASE("GzipWriter: pieces written one at a time inflate to their concatenation") {
  formats::detail::GzipWriter gz;
  std::string all;
  for (int i = 0; i < 300; i++) {
    std::string piece(static_cast<size_t>(i * 37 % 5000), static_cast<char>('a' + i % 26));
    piece += std::to_string(i);
    REQUIRE(gz.write(piece).ok());
    all += piece;
  }
  REQUIRE(gz.write("").ok());
  auto file = gz.finish();
  REQUIRE(file.ok());
  CHECK(formats::detail::is_gzip(*file));
  auto back = formats::detail::gunzip(*file, all.size() + 1);
  REQUIRE(back.ok());
  CHECK(*back == all);
  CHECK(file->size() < all.size() / 10);
}

TEST_CASE("PageBuffer: grows keeping its bytes, gives passed pages back as zeros, moves", "[pprof]") {
  formats::detail::PageBuffer b;
  REQUIRE(b.resize(3 << 20));
  for (size_t i = 0; i < b.size(); i++) b.data()[i] = static_cast<char>(i % 251 + 1);
  REQUIRE(b.resize(40 << 20));  // mremap: the bytes move with their pages
  CHECK(b.data()[(3 << 20) - 1] == static_cast<char>(((3 << 20) - 1) % 251 + 1));
  CHECK(b.data()[(3 << 20)] == 0);
  b.release_before(100);  // less than a megabyte passed: nothing given back yet
  CHECK(b.data()[0] == 1);
  b.release_before((2 << 20) + 5);
  CHECK(b.data()[0] == 0);
  CHECK(b.data()[(2 << 20) - 1] == 0);
  CHECK(b.data()[(2 << 20) + 5] == static_cast<char>(((2 << 20) + 5) % 251 + 1));  // not passed yet
  formats::detail::PageBuffer moved = std::move(b);
  CHECK(moved.size() == size_t{40} << 20);
  CHECK(b.size() == 0);
  CHECK(moved.view().substr((2 << 20) + 5, 1)[0] == static_cast<char>(((2 << 20) + 5) % 251 + 1));
}
