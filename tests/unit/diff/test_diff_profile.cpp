#include <catch2/catch.hpp>

#include "diff_fixtures.h"
#include "loopperf/diff/diff_profile.h"
#include "loopperf/formats/pprof.h"

using namespace loopperf;
using test::bench;

namespace {
int64_t sum(const profile::Profile& p, size_t idx, bool base) {
  int64_t s = 0;
  for (const auto& x : p.samples)
    if ((x.str_label("pprof::base") == "true") == base) s += x.values[idx];
  return s;
}
}  // namespace

TEST_CASE("diff profile: head as is, base normalized to head's total, negated, labelled pprof::base") {
  // 7 single-sample stacks scaled by 13/10 each: per-record rounding would lose 2 samples.
  test::DiffBuilder b;
  for (int i = 0; i < 7; i++) b.add({"js:main@/x/a.js", "js:f" + std::to_string(i) + "@/x/a.js"}, 1);
  b.add({"js:main@/x/a.js", "js:big@/x/a.js"}, 3);
  auto head = bench({3000, 6000, 2000, 1000, 1000});
  auto base = bench({3000, 3000, 2000, 1000, 1000});
  auto d = diff::make_diff_profile(base, head);
  REQUIRE(d.ok());
  CHECK(sum(*d, 0, false) == 13000);
  CHECK(sum(*d, 0, true) == -13000);
  CHECK(sum(*d, 1, true) == -13000LL * 1'001'001);
  CHECK(d->meta("diff.base_scale") == "1.3");
  CHECK(d->meta("diff.base.samples") == "10000");
  // Functions shared by both sides are stored once; every id resolves.
  CHECK(d->functions.size() == head.functions.size());
  for (const auto& s : d->samples)
    for (uint64_t id : s.location_ids) {
      const auto* loc = d->location(id);
      REQUIRE(loc);
      CHECK(d->mapping(loc->mapping_id));
      for (const auto& l : loc->lines) CHECK(d->function(l.function_id));
    }
  // Original labels stay, so pprof -tagfocus=phase=... works on both sides.
  const auto& last = d->samples.back();
  CHECK(last.str_label("phase") == "check");
  CHECK(last.str_label("pprof::base") == "true");

  auto small = diff::make_diff_profile(b.p, bench({13}));
  REQUIRE(small.ok());
  CHECK(sum(*small, 0, true) == -13);

  // Through the pprof writer and reader unchanged.
  auto bytes = formats::encode_pprof(*d);
  REQUIRE(bytes.ok());
  auto back = formats::decode_pprof(*bytes);
  REQUIRE(back.ok());
  CHECK(sum(*back, 0, true) == -13000);
  CHECK(back->meta("diff.head.samples") == "13000");
}

TEST_CASE("diff profile: sample types may be ordered differently, but must be the same") {
  auto head = bench({10, 20});
  auto base = bench({10, 10});
  std::swap(base.sample_types[0], base.sample_types[1]);
  for (size_t i = 0; i < base.samples.size(); i++) std::swap(base.samples.values(i)[0], base.samples.values(i)[1]);
  auto d = diff::make_diff_profile(base, head);
  REQUIRE(d.ok());
  CHECK(sum(*d, 0, true) == -30);
  base.sample_types[0] = {"alloc_space", "bytes"};
  auto bad = diff::make_diff_profile(base, head);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::kInput);
}
