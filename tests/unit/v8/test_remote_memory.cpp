// RemoteMemory on this very process: batched ranges, nearby ranges read as one, and a range that
// cannot be read failing alone (also when it sits in a merged span).
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "../../../src/v8/remote_memory.h"

using loopperf::v8::RemoteMemory;

TEST_CASE("RemoteMemory: batched reads, bad ranges fail alone", "[v8][remote_memory]") {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Three pages: readable, unreadable, readable.
  auto* mem = static_cast<uint8_t*>(
      ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(mem != MAP_FAILED);
  for (size_t i = 0; i < 3 * page; ++i) mem[i] = static_cast<uint8_t>(i * 7);
  REQUIRE(::mprotect(mem + page, page, PROT_NONE) == 0);
  const uint64_t base = reinterpret_cast<uint64_t>(mem);

  RemoteMemory rm(::getpid());
  // Close together (one span), the last of them running into the unreadable page.
  const size_t a = rm.add(base + 16, 40);
  const size_t b = rm.add(base + 80, 40);
  const size_t c = rm.add(base + page - 24, 48);
  // Far apart, on either side of the hole.
  const size_t d = rm.add(base + 2 * page + 100, 8);
  const size_t e = rm.add(base + page + 8, 8);
  const size_t f = rm.add(base + 2 * page + 4000 % page, 16);
  // Not plausible at all.
  const size_t g = rm.add(8, 8);
  const size_t h = rm.add(uint64_t{1} << 50, 8);
  CHECK(g == RemoteMemory::kNone);
  CHECK(h == RemoteMemory::kNone);
  rm.run();
  CHECK(rm.ok(a));
  CHECK(rm.ok(b));
  CHECK_FALSE(rm.ok(c));
  CHECK(rm.ok(d));
  CHECK_FALSE(rm.ok(e));
  CHECK(rm.ok(f));
  CHECK_FALSE(rm.ok(g));
  CHECK(std::memcmp(rm.data(a), mem + 16, 40) == 0);
  CHECK(std::memcmp(rm.data(b), mem + 80, 40) == 0);
  CHECK(std::memcmp(rm.data(d), mem + 2 * page + 100, 8) == 0);
  CHECK(std::memcmp(rm.data(f), mem + 2 * page + 4000 % page, 16) == 0);
  CHECK(rm.u64(a, 8) == [&] {
    uint64_t v;
    std::memcpy(&v, mem + 24, 8);
    return v;
  }());

  // A second level keeps the first one's results and reads only what is new.
  const uint64_t calls = rm.calls();
  const size_t i = rm.add(base + 200, 8);
  rm.run();
  CHECK(rm.ok(i));
  CHECK(rm.ok(a));
  CHECK(rm.calls() == calls + 1);

  uint8_t buf[32];
  CHECK(rm.read(base + 2 * page, buf, sizeof buf));
  CHECK_FALSE(rm.read(base + page - 8, buf, sizeof buf));
  CHECK_FALSE(rm.process_gone());
  ::munmap(mem, 3 * page);
}

TEST_CASE("RemoteMemory: a process that is gone fails every read", "[v8][remote_memory]") {
  // pid_max is at most 2^22: this one does not exist.
  RemoteMemory rm(0x7ffffff0);
  uint64_t local = 42;
  const size_t a = rm.add(reinterpret_cast<uint64_t>(&local), 8);
  rm.run();
  CHECK_FALSE(rm.ok(a));
  CHECK(rm.process_gone());
  CHECK_FALSE(rm.read(reinterpret_cast<uint64_t>(&local), &local, 8));
}
