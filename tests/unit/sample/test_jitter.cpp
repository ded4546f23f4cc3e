#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "loopperf/sample/jitter.h"

using namespace loopperf;

TEST_CASE("jittered periods: uniform in [0.5, 1.5] x nominal, mean nominal, so the rate is kept") {
  const uint64_t nominal = 1'001'001;  // 999 Hz
  sample::PeriodJitter j(nominal, 42);
  const int n = 100000;
  std::vector<int> bins(10, 0);
  double sum = 0;
  for (int i = 0; i < n; i++) {
    uint64_t p = j.next();
    REQUIRE(p >= nominal / 2);
    REQUIRE(p <= nominal * 3 / 2);
    sum += static_cast<double>(p);
    bins[std::min<size_t>(9, static_cast<size_t>((static_cast<double>(p) / nominal - 0.5) * 10))]++;
  }
  CHECK(sum / n == Approx(nominal).epsilon(0.005));
  for (int b : bins) CHECK(std::abs(b - n / 10) < n / 100);  // each tenth within 10% of its share
}

TEST_CASE("jittered periods: a seed gives one sequence, two objects seeded from the clock differ") {
  sample::PeriodJitter a(1000, 7), b(1000, 7);
  for (int i = 0; i < 100; i++) CHECK(a.next() == b.next());
  sample::PeriodJitter c(1'000'000), d(1'000'000);
  int same = 0;
  for (int i = 0; i < 100; i++) same += c.next() == d.next();
  CHECK(same < 5);
  CHECK(sample::PeriodJitter(1, 3).next() >= 1);  // never a zero period
}
