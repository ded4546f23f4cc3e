#include <linux/perf_event.h>

#include <catch2/catch.hpp>

#include "loopperf/unwind/callchain.h"

using loopperf::profile::Frame;
using loopperf::unwind::frames_from_callchain;

TEST_CASE("kernel and user parts of a callchain become frames, leaf first") {
  const uint64_t ips[] = {PERF_CONTEXT_KERNEL, 0xffffffff81000010, 0xffffffff81000200,
                          PERF_CONTEXT_USER,   0x401000,           0x402000, 0x403000};
  std::vector<Frame> out;
  frames_from_callchain(ips, std::size(ips), out);
  REQUIRE(out.size() == 5);
  CHECK(out[0] == Frame{0xffffffff81000010, true});  // the sampled pc is exact
  CHECK(out[1] == Frame{0xffffffff81000200 - 1, true});
  CHECK(out[2] == Frame{0x401000 - 1, false});  // return addresses point into the call
  CHECK(out[4] == Frame{0x403000 - 1, false});
}

TEST_CASE("user-only callchains keep the leaf pc exact") {
  const uint64_t ips[] = {PERF_CONTEXT_USER, 0x401234, 0x405678};
  std::vector<Frame> out;
  frames_from_callchain(ips, std::size(ips), out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].addr == 0x401234);
  CHECK(out[1].addr == 0x405677);
}

TEST_CASE("guest contexts and zero entries are dropped") {
  const uint64_t ips[] = {PERF_CONTEXT_GUEST, 0x1111, PERF_CONTEXT_USER, 0, 0x401000};
  std::vector<Frame> out;
  frames_from_callchain(ips, std::size(ips), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].addr == 0x401000);
}
