#include <catch2/catch.hpp>

#include <map>

#include "loopperf/profile/stack_table.h"

using namespace loopperf;

TEST_CASE("identical stacks of one thread are stored once with their count") {
  profile::StackTable t;
  std::vector<profile::Frame> a = {{0x10, false}, {0x20, false}};
  std::vector<profile::Frame> b = {{0x10, false}, {0x30, false}};
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
  std::vector<profile::Frame> k = {{0x10, true}};
  std::vector<profile::Frame> u = {{0x10, false}};
  t.add(1, k, 1);
  t.add(1, u, 1);
  CHECK(t.entries().size() == 2);
}

TEST_CASE("the distinct-stack limit bounds memory and counts the overflow") {
  profile::StackTable t(10);
  for (uint64_t i = 0; i < 100; i++) {
    std::vector<profile::Frame> f = {{0x1000 + i, false}};
    t.add(7, f, 1);
  }
  CHECK(t.entries().size() == 11);  // 10 + one overflow entry for the thread
  CHECK(t.overflowed() == 90);
  CHECK(t.entries().back().count == 90);
  CHECK(t.total_samples() == 100);
}

TEST_CASE("a full table stores no frames for the stacks it counts as overflow") {
  profile::StackTable t(10);
  std::vector<profile::Frame> f = {{0x1, false}, {0x2, false}, {0x3, false}};
  for (uint64_t i = 0; i < 10; i++) {
    f[0].addr = 0x1000 + i;
    t.add(7, f, 1);
  }
  const size_t nodes = t.nodes();
  CHECK(nodes == 2 + 10);
  for (uint64_t i = 0; i < 1000; i++) {  // new leaves and new whole stacks: overflow, no new frames
    f[0].addr = 0x2000 + i;
    f[2].addr = 0x3000 + i % 7;
    t.add(7, f, 1);
  }
  CHECK(t.overflowed() == 1000);
  CHECK(t.nodes() == nodes);
  f[0].addr = 0x1003;
  f[2].addr = 0x3;
  t.add(7, f, 1);  // a stack it has still counts as itself
  CHECK(t.entries()[3].count == 2);
  t.add(8, f, 1);  // known frames, but a new entry (another thread): overflow
  CHECK(t.overflowed() == 1001);
  CHECK(t.nodes() == nodes);
}

TEST_CASE("compact: addresses rewritten alike merge their stacks, counts and periods add up, indices map") {
  profile::StackTable t(4);
  std::vector<profile::Frame> a = {{0x101, false}, {0x200, false}};
  std::vector<profile::Frame> b = {{0x102, false}, {0x200, false}};  // same function as a's leaf
  std::vector<profile::Frame> c = {{0x300, false}, {0x200, false}};
  std::vector<profile::Frame> k = {{0x101, true}};  // a kernel address: never merged with a user one
  t.add(1, a, 10);
  t.add(1, b, 20);
  t.add(2, b, 30);
  t.add(1, c, 40);
  t.add(1, k, 50);  // the table holds 4: this one overflows
  REQUIRE(t.overflowed() == 1);
  REQUIRE(t.entries().size() == 5);
  auto old_to_new = t.compact([](const profile::Frame& f) { return !f.kernel && f.addr < 0x200 ? 0x101 : f.addr; });
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

TEST_CASE("stacks sharing a prefix store it once, and every stack reads back exactly") {
  profile::StackTable t;
  // 200 stacks of depth 60 that differ only in their two innermost frames.
  std::vector<std::vector<profile::Frame>> stacks;
  for (uint64_t i = 0; i < 200; i++) {
    std::vector<profile::Frame> s = {{0x9000 + i, false}, {0x8000 + i % 7, i % 2 == 0}};
    for (uint64_t d = 0; d < 58; d++) s.push_back({0x100 + d, false});
    stacks.push_back(s);
    t.add(1, s, 1);
  }
  REQUIRE(t.entries().size() == 200);
  CHECK(t.nodes() == 58 + 14 + 200);  // the shared 58, 7 × 2 callers, one leaf per stack
  for (size_t i = 0; i < stacks.size(); i++) {
    CHECK(t.entries()[i].depth == 60);
    CHECK(t.frames(t.entries()[i]) == stacks[i]);
  }
  // A stack that is a prefix of another is its own entry; the empty stack too.
  std::vector<profile::Frame> outer(stacks[0].begin() + 2, stacks[0].end());
  t.add(1, outer, 1);
  t.add(1, std::span<const profile::Frame>(), 1);
  REQUIRE(t.entries().size() == 202);
  CHECK(t.frames(t.entries()[200]) == outer);
  CHECK(t.frames(t.entries()[201]).empty());
  CHECK(t.nodes() == 58 + 14 + 200);
}

TEST_CASE("many random stacks: counts and frames survive growth of the hash tables") {
  profile::StackTable t;
  uint64_t x = 12345;
  auto next = [&] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL; };
  std::vector<std::vector<profile::Frame>> stacks;
  for (int i = 0; i < 5000; i++) {
    std::vector<profile::Frame> s;
    int depth = 1 + static_cast<int>(next() >> 60);
    for (int d = 0; d < depth; d++) s.push_back({(next() >> 40) % 64, false});
    stacks.push_back(s);
  }
  std::map<std::vector<std::pair<uint64_t, bool>>, uint64_t> want;
  for (int i = 0; i < 20000; i++) {
    const auto& s = stacks[next() >> 33 & 4095];
    uint32_t index = t.add(3, s, 2);
    REQUIRE(t.frames(t.entries()[index]) == s);
    std::vector<std::pair<uint64_t, bool>> key;
    for (const auto& f : s) key.emplace_back(f.addr, f.kernel);
    want[key]++;
  }
  CHECK(t.entries().size() == want.size());
  for (const auto& e : t.entries()) {
    std::vector<std::pair<uint64_t, bool>> key;
    for (const auto& f : t.frames(e)) key.emplace_back(f.addr, f.kernel);
    CHECK(e.count == want[key]);
    CHECK(e.period == 2 * e.count);
  }
}

TEST_CASE("compact after overflow in two threads keeps every entry and every count") {
  profile::StackTable t(2);
  std::vector<profile::Frame> a = {{0x1, false}};
  std::vector<profile::Frame> b = {{0x2, false}};
  std::vector<profile::Frame> c = {{0x3, false}};
  t.add(1, a, 1);
  t.add(1, b, 1);
  t.add(1, c, 1);  // overflow entry for thread 1 (index 2)
  auto first = t.compact([](const profile::Frame& f) { return f.addr; });
  // Thread 2 overflows now; its entry follows. The table holds a, b and two overflow entries, more
  // than the limit of 2: a second compaction keeps them all.
  t.add(2, c, 1);
  REQUIRE(t.entries().size() == 4);
  auto second = t.compact([](const profile::Frame& f) { return f.addr; });
  REQUIRE(second.size() == 4);
  uint64_t total = 0;
  for (const auto& e : t.entries()) total += e.count;
  CHECK(total == 4);
  CHECK(t.entries()[second[first[0]]].count == 1);
  CHECK(t.frames(t.entries()[second[first[1]]]) == b);
  CHECK(t.overflowed() == 2);
}

TEST_CASE("release frees the stacks and keeps the counters") {
  profile::StackTable t(1);
  std::vector<profile::Frame> a = {{0x1, false}};
  std::vector<profile::Frame> b = {{0x2, false}};
  t.add(1, a, 1);
  t.add(1, b, 1);
  size_t before = t.memory_bytes();
  t.release();
  CHECK(t.entries().empty());
  CHECK(t.memory_bytes() <= before);
  CHECK(t.total_samples() == 2);
  CHECK(t.overflowed() == 1);
}
