#include <catch2/catch.hpp>

#include "loopperf/profile/stack_table.h"

using namespace loopperf;

TEST_CASE("identical stacks of one thread are stored once with their count") {
  profile::StackTable t;
  std::vector<unwind::Frame> a = {{0x10, false}, {0x20, false}};
  std::vector<unwind::Frame> b = {{0x10, false}, {0x30, false}};
  for (int i = 0; i < 5; i++) t.add(1, a, 1000);
  t.add(1, b, 1000);
  t.add(2, a, 1000);  // same frames, other thread: separate entry
  REQUIRE(t.entries().size() == 3);
  CHECK(t.entries()[0].count == 5);
  CHECK(t.entries()[0].period == 5000);
  CHECK(t.frames(t.entries()[1])[1].addr == 0x30);
  CHECK(t.total_samples() == 7);
}

TEST_CASE("kernel and user frames at the same address are different stacks") {
  profile::StackTable t;
  std::vector<unwind::Frame> k = {{0x10, true}};
  std::vector<unwind::Frame> u = {{0x10, false}};
  t.add(1, k, 1);
  t.add(1, u, 1);
  CHECK(t.entries().size() == 2);
}

TEST_CASE("the distinct-stack limit bounds memory and counts the overflow") {
  profile::StackTable t(10);
  for (uint64_t i = 0; i < 100; i++) {
    std::vector<unwind::Frame> f = {{0x1000 + i, false}};
    t.add(7, f, 1);
  }
  CHECK(t.entries().size() == 11);  // 10 + one overflow entry for the thread
  CHECK(t.overflowed() == 90);
  CHECK(t.entries().back().count == 90);
  CHECK(t.total_samples() == 100);
}

TEST_CASE("compact: addresses rewritten alike merge their stacks, counts and periods add up, indices map") {
  profile::StackTable t(4);
  std::vector<unwind::Frame> a = {{0x101, false}, {0x200, false}};
  std::vector<unwind::Frame> b = {{0x102, false}, {0x200, false}};  // same function as a's leaf
  std::vector<unwind::Frame> c = {{0x300, false}, {0x200, false}};
  std::vector<unwind::Frame> k = {{0x101, true}};  // a kernel address: never merged with a user one
  t.add(1, a, 10);
  t.add(1, b, 20);
  t.add(2, b, 30);
  t.add(1, c, 40);
  t.add(1, k, 50);  // the table holds 4: this one overflows
  REQUIRE(t.overflowed() == 1);
  REQUIRE(t.entries().size() == 5);
  auto old_to_new = t.compact([](const unwind::Frame& f) { return !f.kernel && f.addr < 0x200 ? 0x101 : f.addr; });
  REQUIRE(old_to_new.size() == 5);
  // a and b of thread 1 are one stack now; thread 2's b stays its own; c as it was.
  CHECK(old_to_new[0] == old_to_new[1]);
  CHECK(old_to_new[2] != old_to_new[0]);
  REQUIRE(t.entries().size() == 4);
  const auto& ab = t.entries()[old_to_new[0]];
  CHECK(ab.count == 2);
  CHECK(ab.period == 30);
  CHECK(t.frames(ab)[0].addr == 0x101);
  CHECK(t.entries()[old_to_new[2]].tid == 2);
  CHECK(t.entries()[old_to_new[3]].period == 40);
  // The overflow entry stays one, and new overflow still lands in it; new stacks fit again.
  const auto& ov = t.entries()[old_to_new[4]];
  CHECK(ov.depth == 0);
  CHECK(ov.count == 1);
  t.add(1, a, 5);  // the merged stack, as the compactor rewrites later samples
  CHECK(t.entries()[old_to_new[0]].count == 3);
  t.add(3, k, 1);  // 4 entries, limit 4: still over the limit, counted in thread 3's overflow entry
  CHECK(t.overflowed() == 2);
  CHECK(t.total_samples() == 7);
}
