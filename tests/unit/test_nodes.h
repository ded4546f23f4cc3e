// The node lines the tests run on (20, 22, 24, 26) and where each one is, as scripts/test-nodes.sh
// says: the one list and the one lookup (the cache of scripts/install-test-nodes.sh, under
// LOOPPERF_NODE_CACHE or XDG_CACHE_HOME, else the system node when it is of that line).
//
//   const int major = GENERATE(from_range(lp_test::supported_node_majors()));
//   LP_TEST_NODE(node, major);  // std::string node: the binary, or the test case ends here
//
// A missing line fails the test when LOOPPERF_REQUIRE_NODES=1 (scripts/test.sh sets it, after
// installing them) or, when that is unset, under CI; elsewhere it is a skip, with the fix.
#pragma once
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lp_skip.h"

#ifndef LOOPPERF_TEST_NODES_SCRIPT
#error "LOOPPERF_TEST_NODES_SCRIPT (the path of scripts/test-nodes.sh) comes from tests/CMakeLists.txt"
#endif

namespace lp_test {

// What `scripts/test-nodes.sh <option>` prints ("" when it fails).
inline std::string test_nodes_script(const std::string& option) {
  std::string out;
  if (FILE* p = ::popen(("bash '" LOOPPERF_TEST_NODES_SCRIPT "' " + option).c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (::pclose(p) != 0) out.clear();
  }
  return out;
}

// major -> binary ("" when not installed) of every supported line; the script runs once.
inline const std::map<int, std::string>& test_nodes() {
  static const std::map<int, std::string> nodes = [] {
    std::map<int, std::string> m;
    std::istringstream lines(test_nodes_script("--all"));
    std::string line;
    while (std::getline(lines, line)) {
      const auto space = line.find(' ');
      if (space == std::string::npos) continue;
      const std::string path = line.substr(space + 1);
      m[std::atoi(line.c_str())] = path == "-" ? "" : path;
    }
    return m;
  }();
  return nodes;
}

inline std::vector<int> supported_node_majors() {
  std::vector<int> majors;
  for (const auto& [major, path] : test_nodes()) majors.push_back(major);
  if (majors.empty()) FAIL(LOOPPERF_TEST_NODES_SCRIPT " --all listed no node line");
  return majors;
}

// The binary of node <major>, "" when it is not installed.
inline std::string test_node_binary(int major) {
  const auto it = test_nodes().find(major);
  return it == test_nodes().end() ? "" : it->second;
}

inline bool test_nodes_required() {
  if (const char* flag = std::getenv("LOOPPERF_REQUIRE_NODES"); flag && *flag)
    return std::string(flag) == "1";
  const char* ci = std::getenv("CI");
  return ci && *ci && std::string(ci) != "0" && std::string(ci) != "false";
}

inline std::string missing_node_reason(int major) {
  std::string cache = test_nodes_script("--cache");
  if (!cache.empty() && cache.back() == '\n') cache.pop_back();
  return "node " + std::to_string(major) +
         " is not installed: run scripts/install-test-nodes.sh (it installs into " + cache + ")";
}

}  // namespace lp_test

// Declares `const std::string var`, node <major>'s binary; when it is missing, ends the test case:
// a failure when the lines are required, else a skip.
#define LP_TEST_NODE(var, major)                                                         \
  const std::string var = ::lp_test::test_node_binary(major);                            \
  do {                                                                                   \
    if (var.empty()) {                                                                   \
      if (::lp_test::test_nodes_required()) FAIL(::lp_test::missing_node_reason(major)); \
      LP_SKIP(::lp_test::missing_node_reason(major));                                    \
    }                                                                                    \
  } while (0)
