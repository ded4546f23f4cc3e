#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <iostream>
#include <string>

#include "lp_skip.h"

namespace {
std::string g_skip_reason;  // set by LP_SKIP during the current test case
}

void lp_test::request_skip(const std::string& reason) {
  if (g_skip_reason.empty()) g_skip_reason = reason;
}

// Prints the marker ctest's SKIP_REGULAR_EXPRESSION looks for, once per skipped test case, and only
// when nothing failed (a skip must not hide a failure).
struct LpSkipListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo&) override { g_skip_reason.clear(); }
  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    if (!g_skip_reason.empty() && stats.totals.assertions.failed == 0)
      std::cout << "LOOPPERF_TEST_SKIPPED: " << g_skip_reason << std::endl;
    g_skip_reason.clear();
  }
};
CATCH_REGISTER_LISTENER(LpSkipListener)
