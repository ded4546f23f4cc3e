#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "loopperf/symbols/kernel_symbols.h"

using loopperf::symbols::KernelSymbols;

namespace {

// Address of a kernel text symbol from /proc/kallsyms; 0 when hidden or absent.
uint64_t kernel_symbol(const std::string& wanted) {
  std::ifstream in("/proc/kallsyms");
  std::string addr, type, name, line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    fields >> addr >> type >> name;
    if (name == wanted && (type == "T" || type == "t")) return std::stoull(addr, nullptr, 16);
  }
  return 0;
}

}  // namespace

TEST_CASE("KernelSymbols: read on first use without a preload") {
  KernelSymbols k;
  CHECK(k.ready());  // nothing is being read: using it now waits for nobody
  CHECK_FALSE(k.usable());
  const uint64_t schedule = kernel_symbol("schedule");
  if (schedule == 0) {
    WARN("kernel symbols hidden (kptr_restrict): only the empty case is checked");
    CHECK(k.table().lookup(0xffffffff81000010ULL).empty());
    return;
  }
  CHECK(k.table().lookup(schedule + 1) == "schedule");
  CHECK(k.usable());
}

TEST_CASE("KernelSymbols: a preload is read in the background and waited for when needed") {
  const uint64_t schedule = kernel_symbol("schedule");
  KernelSymbols k;
  k.preload();
  k.preload();  // once is enough
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!k.ready() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(k.ready());
  if (schedule != 0) CHECK(k.table().lookup(schedule + 1) == "schedule");
  k.release();
  CHECK_FALSE(k.usable());
  CHECK(k.table().lookup(schedule + 1).empty());  // released for good: never read again
}

TEST_CASE("KernelSymbols: released or destroyed while the preload still reads") {
  {
    KernelSymbols k;
    k.preload();
  }  // the destructor waits for the thread (at this thread's priority)
  KernelSymbols k;
  k.preload();
  k.release();
  CHECK(k.ready());
  CHECK_FALSE(k.usable());
}

TEST_CASE("KernelSymbols: the holders of one file share one reading, until the last lets go") {
  const uint64_t schedule = kernel_symbol("schedule");
  KernelSymbols a, b;
  a.preload();
  b.preload();
  CHECK(&b.table() == &a.table());  // one table for both: the recorders of a process tree
  a.release();
  CHECK_FALSE(a.usable());
  if (schedule != 0) CHECK(b.table().lookup(schedule + 1) == "schedule");  // b still holds it
  b.release();
  KernelSymbols c;  // nobody holds a reading now: c reads again
  if (schedule != 0) CHECK(c.table().lookup(schedule + 1) == "schedule");
}
