// process::node_version of a running node of every supported line (test_nodes.h): what the target's
// own executable prints, asked of the executable and never of the target.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "loopperf/process/process.h"
#include "test_nodes.h"

namespace {

// A node that prints "ready" once it runs its script, then waits to be killed (here, or when the
// test case ends early).
struct RunningNode {
  pid_t pid = -1;
  int out = -1;

  explicit RunningNode(const std::string& node) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      if (::dup2(p[1], STDOUT_FILENO) < 0) ::_exit(127);
      ::execl(node.c_str(), node.c_str(), "-e", "console.log('ready'); setInterval(() => {}, 1e6);", nullptr);
      ::_exit(127);
    }
    ::close(p[1]);
    out = p[0];
  }
  ~RunningNode() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }

  // The first line it printed ("" on EOF or after 30 s).
  std::string first_line() {
    std::string line;
    char c;
    while (line.find('\n') == std::string::npos) {
      pollfd p{out, POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0 || ::read(out, &c, 1) != 1) break;
      line += c;
    }
    return line;
  }
};

// What `node --version` prints, the line ending dropped.
std::string version_of(const std::string& node) {
  std::string out;
  if (FILE* p = ::popen(("'" + node + "' --version").c_str(), "r")) {
    char buf[128];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

TEST_CASE("node_version: a running node of every supported line, its own version", "[node]") {
  const int major = GENERATE(from_range(lp_test::supported_node_majors()));
  INFO("node " << major);
  LP_TEST_NODE(node, major);
  const std::string expected = version_of(node);
  REQUIRE(expected.rfind("v" + std::to_string(major) + ".", 0) == 0);

  RunningNode target(node);
  REQUIRE(target.pid > 0);
  REQUIRE(target.first_line() == "ready\n");  // exec'd and running its script
  CHECK(loopperf::process::node_version(target.pid) == expected);
}
