// The columnar sample table (profile/sample.h): samples read back as added, label sets kept once,
// changes in place, filtering, and the rules it enforces.

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

#include "loopperf/profile/profile.h"

using namespace loopperf::profile;

namespace {
Labels thread(int64_t tid) { return {{.key = "thread", .str = "node"}, {.key = "tid", .num = tid, .is_num = true}}; }
std::vector<uint32_t> ids(const SampleView& s) { return {s.location_ids.begin(), s.location_ids.end()}; }
std::vector<int64_t> values(const SampleView& s) { return {s.values.begin(), s.values.end()}; }
}  // namespace

TEST_CASE("sample table: samples read back as added, stacks of any length, in order", "[profile]") {
  SampleTable t;
  t.push_back({.location_ids = {3, 2, 1}, .values = {1, 10}, .labels = thread(7)});
  t.push_back({.location_ids = {}, .values = {2, 20}});
  t.push_back({.location_ids = {9}, .values = {3, 30}, .labels = thread(8)});
  REQUIRE(t.size() == 3);
  CHECK(t.value_count() == 2);
  CHECK(ids(t[0]) == std::vector<uint32_t>{3, 2, 1});
  CHECK(ids(t[1]).empty());
  CHECK(ids(t[2]) == std::vector<uint32_t>{9});
  CHECK(values(t[1]) == std::vector<int64_t>{2, 20});
  CHECK(t[0].num_label("tid") == 7);
  CHECK(t[1].labels.empty());
  CHECK(t.back().num_label("tid") == 8);
  size_t n = 0;
  for (const auto& s : t) CHECK(s.values[0] == static_cast<int64_t>(++n));
  CHECK(n == 3);
}

TEST_CASE("sample table: equal label sets are kept once, whether their lists are shared or not", "[profile]") {
  SampleTable t;
  for (int i = 0; i < 1000; i++) t.push_back({.location_ids = {1}, .values = {1}, .labels = thread(i % 3)});
  t.push_back({.location_ids = {1}, .values = {1}});
  CHECK(t.label_set_count() == 4);
  CHECK(t[3].labels.shares_list_with(t[0].labels));
  CHECK_FALSE(t[1].labels.shares_list_with(t[0].labels));
  // A new set after a known one, and a known one again: the shortcut for a run of one list does not
  // hand out the last set to another list.
  Labels a = thread(42), b = thread(43);
  t.push_back({.location_ids = {}, .values = {1}, .labels = a});
  t.push_back({.location_ids = {}, .values = {1}, .labels = b});
  t.push_back({.location_ids = {}, .values = {1}, .labels = a});
  CHECK(t[t.size() - 3].num_label("tid") == 42);
  CHECK(t[t.size() - 2].num_label("tid") == 43);
  CHECK(t[t.size() - 1].num_label("tid") == 42);
}

TEST_CASE("sample table: values, location ids and labels change in place, edit keeps the shape", "[profile]") {
  SampleTable t{{.location_ids = {1, 2}, .values = {5, 50}, .labels = thread(1)},
                {.location_ids = {3}, .values = {6, 60}, .labels = thread(2)}};
  t.values(1)[0] = -6;
  for (auto& id : t.location_ids(0)) id += 10;
  t.set_labels(0, thread(9));
  CHECK(values(t[1]) == std::vector<int64_t>{-6, 60});
  CHECK(ids(t[0]) == std::vector<uint32_t>{11, 12});
  CHECK(t[0].num_label("tid") == 9);
  CHECK(ids(t[1]) == std::vector<uint32_t>{3});  // its neighbour untouched
  t.edit(1, [](Sample& s) { s.labels.push_back({.key = "pprof::base", .str = "true"}); });
  CHECK(t[1].str_label("pprof::base") == "true");
  CHECK(t[1].num_label("tid") == 2);
  CHECK_THROWS_AS(t.edit(1, [](Sample& s) { s.location_ids.push_back(4); }), std::invalid_argument);
  CHECK_THROWS_AS(t.push_back({.location_ids = {1}, .values = {1}}), std::invalid_argument);  // 1 value, not 2
  CHECK(t.size() == 2);  // nothing added by the refused sample
}

TEST_CASE("sample table: keep_if keeps the chosen samples in order, whole", "[profile]") {
  SampleTable t;
  for (uint32_t i = 0; i < 10; i++) {
    Sample s{.values = {static_cast<int64_t>(i)}, .labels = thread(i)};
    for (uint32_t k = 0; k <= i % 4; k++) s.location_ids.push_back(100 * i + k);
    t.push_back(s);
  }
  t.keep_if([](const SampleView& s) { return s.values[0] % 3 != 1; });
  REQUIRE(t.size() == 7);
  std::vector<int64_t> kept;
  for (const auto& s : t) {
    kept.push_back(s.values[0]);
    const auto i = static_cast<uint32_t>(s.values[0]);
    REQUIRE(s.location_ids.size() == i % 4 + 1);
    for (uint32_t k = 0; k < s.location_ids.size(); k++) CHECK(s.location_ids[k] == 100 * i + k);
    CHECK(s.num_label("tid") == i);
  }
  CHECK(kept == std::vector<int64_t>{0, 2, 3, 5, 6, 8, 9});
}

TEST_CASE("sample table: a 6-frame sample of 2 values costs ~48 bytes, not ~190", "[profile]") {
  SampleTable t;
  t.reserve(100000, 600000);
  const Labels l = thread(1);
  for (uint32_t i = 0; i < 100000; i++)
    t.push_back({.location_ids = {i, i + 1, i + 2, i + 3, i + 4, i + 5}, .values = {1, 1000}, .labels = l});
  CHECK(t.bytes() <= 100000 * 48 + 1024);
}

TEST_CASE("sample table: a sample added from the table itself is copied whole, however it grows", "[profile]") {
  SampleTable t{{.location_ids = {1, 2, 3}, .values = {7, 70}, .labels = thread(5)}};
  for (int i = 0; i < 200; i++) t.add(t[t.size() - 1]);  // each add may move the arrays it reads
  REQUIRE(t.size() == 201);
  for (const auto& s : t) {
    CHECK(ids(s) == std::vector<uint32_t>{1, 2, 3});
    CHECK(values(s) == std::vector<int64_t>{7, 70});
    CHECK(s.num_label("tid") == 5);
  }
}
