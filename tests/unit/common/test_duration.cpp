#include <catch2/catch.hpp>

#include "loopperf/common/duration.h"

using namespace loopperf;
using namespace std::chrono_literals;

TEST_CASE("durations with units parse to nanoseconds") {
  CHECK(parse_duration("500ms").value() == 500ms);
  CHECK(parse_duration("10s").value() == 10s);
  CHECK(parse_duration("2m").value() == 120s);
  CHECK(parse_duration("1h").value() == 3600s);
  CHECK(parse_duration("1.5s").value() == 1500ms);
  CHECK(parse_duration("250us").value() == 250us);
  CHECK(parse_duration("7").value() == 7s);  // bare number: seconds
}

TEST_CASE("durations take the unit names people write") {
  for (const char* two_seconds : {"2s", "2sec", "2secs", "2second", "2seconds"}) {
    INFO(two_seconds);
    CHECK(parse_duration(two_seconds).value() == 2s);
  }
  CHECK(parse_duration("3mins").value() == 180s);
  CHECK(parse_duration("1minute").value() == 60s);
  CHECK(parse_duration("2hours").value() == 7200s);
  CHECK(parse_duration("1hr").value() == 3600s);
  CHECK(parse_duration("300msec").value() == 300ms);
  CHECK(parse_duration("300milliseconds").value() == 300ms);
  CHECK(parse_duration("40\u00b5s").value() == 40us);
  CHECK_FALSE(parse_duration("2 s").ok());  // one word, as a shell passes it unquoted
  CHECK_FALSE(parse_duration("2 ").ok());
}

TEST_CASE("bad durations are usage errors that say what is accepted") {
  for (const char* bad : {"", "-1s", "0", "0s", "10x", "s", "1e999", "ten", "1..2s", "99999999999h"}) {
    INFO(bad);
    auto r = parse_duration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kUsage);
    CHECK(r.error().hint.find("500ms") != std::string::npos);
  }
}

TEST_CASE("format_duration is readable") {
  CHECK(format_duration(340ms) == "340ms");
  CHECK(format_duration(1520ms) == "1.52s");
  CHECK(format_duration(125s) == "2m05s");
}

TEST_CASE("parse_int enforces its range") {
  CHECK(parse_int("999", 1, 100000, "rate").value() == 999);
  for (const char* bad : {"0", "-5", "100001", "12abc", "", " 5", "99999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_int(bad, 1, 100000, "rate").ok());
  }
}
