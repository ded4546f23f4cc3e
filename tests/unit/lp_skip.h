// Skips decided by the environment (no node, kptr_restrict, not root, no nm), reported to ctest.
// Catch2 v2 (Debian's catch2 2.13) has no SKIP(): LP_SKIP records the reason and returns from the
// test case (or section); the listener in catch_main.cpp prints "LOOPPERF_TEST_SKIPPED: <reason>" at
// the end of the test case when no assertion failed, and ctest's SKIP_REGULAR_EXPRESSION
// (tests/CMakeLists.txt) reports the test as skipped. A failure before the skip stays a failure.
// Never skip because the code under test says it cannot work: that must fail.
#pragma once
#include <sstream>
#include <string>

namespace lp_test {
void request_skip(const std::string& reason);
}

#define LP_SKIP(reason)                             \
  do {                                              \
    std::ostringstream lp_skip_reason_;             \
    lp_skip_reason_ << reason;                      \
    ::lp_test::request_skip(lp_skip_reason_.str()); \
    WARN("skipped: " << lp_skip_reason_.str());     \
    return;                                         \
  } while (0)
