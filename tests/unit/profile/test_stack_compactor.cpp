// The compactor against this test process's own code: symbolized by the real symbolizer (libdw).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "loopperf/profile/stack_compactor.h"

using namespace loopperf;

namespace {
__attribute__((noinline)) int compactor_probe_a(int n) {
  int x = 0;
  for (int i = 0; i < n; i++) x += i * i;
  return x;
}
__attribute__((noinline)) int compactor_probe_b(int n) {
  int x = 1;
  for (int i = 0; i < n; i++) x ^= i * 3;
  return x;
}
}  // namespace

TEST_CASE("compactor: two addresses of one function and line become one, other functions stay apart") {
  symbols::ProcessSymbolizer sym(::getpid());
  sym.refresh();
  profile::StackTable stacks;
  profile::StackCompactor compactor(sym, stacks, /*first_compaction=*/2);
  const uint64_t a = reinterpret_cast<uint64_t>(&compactor_probe_a);
  const uint64_t b = reinterpret_cast<uint64_t>(&compactor_probe_b);
  // The first two instructions of a function (push %rbp; mov %rsp,%rbp) are on its opening line.
  REQUIRE(sym.resolve(a, false).frames.front().line == sym.resolve(a + 1, false).frames.front().line);
  REQUIRE(sym.resolve(a, false).frames.front().name.find("compactor_probe_a") != std::string::npos);

  std::vector<profile::Frame> s1 = {{a, false}}, s2 = {{a + 1, false}}, s3 = {{b, false}};
  auto add = [&](std::vector<profile::Frame> f) {
    compactor.canonicalize(f);
    stacks.add(1, f, 1);
  };
  add(s1);
  add(s2);
  add(s3);
  CHECK(stacks.entries().size() == 3);  // not resolved yet: raw addresses
  CHECK(compactor.pending() == 3);
  compactor.resolve_pending(std::chrono::seconds(5));
  CHECK(compactor.pending() == 0);
  add(s2);  // now rewritten on insert to a, the first address seen on that line: s1's stack
  CHECK(stacks.entries().size() == 3);
  CHECK(stacks.entries()[0].count == 2);
  auto remap = compactor.maybe_compact();  // 3 >= 2 entries: compacts
  REQUIRE(remap.size() == 3);
  CHECK(remap[0] == remap[1]);
  CHECK(remap[2] != remap[0]);
  CHECK(stacks.entries().size() == 2);
  CHECK(stacks.entries()[remap[0]].count == 3);
  CHECK(compactor.compactions() == 1);
  CHECK(compactor.maybe_compact().empty());  // the next one waits until the table has doubled
}
