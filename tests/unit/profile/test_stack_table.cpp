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
