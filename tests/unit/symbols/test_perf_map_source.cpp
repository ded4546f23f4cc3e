#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "loopperf/process/status.h"
#include "loopperf/symbols/perf_map_source.h"

using loopperf::process::ProcStatus;
using loopperf::symbols::PerfMapSource;

namespace {

// A pid that is nobody's (pid_max is at most 2^22): candidates found by name only. Distinct per test
// process: ctest runs this file's cases in parallel, and they must not share /tmp/perf-N.map.
const pid_t kNoSuchPid = 0x40000000 + ::getpid();

// Writes /tmp/perf-N.map with `mode` (umask does not apply) and removes it when the test ends.
struct PerfMapFile {
  std::string path;
  PerfMapFile(int n, const std::string& text, mode_t mode) : path("/tmp/perf-" + std::to_string(n) + ".map") {
    std::ofstream(path, std::ios::trunc) << text;
    ::chmod(path.c_str(), mode);
  }
  ~PerfMapFile() { std::filesystem::remove(path); }
  void append(const std::string& text) const { std::ofstream(path, std::ios::app) << text; }
};

ProcStatus status_with(uid_t uid, std::vector<pid_t> nspid = {}) {
  ProcStatus st;
  st.uid = uid;
  st.nspid = std::move(nspid);
  return st;
}

}  // namespace

TEST_CASE("PerfMapSource: no map, no names, and a warning naming the flag") {
  PerfMapSource source(kNoSuchPid, std::nullopt, std::nullopt);
  CHECK_FALSE(source.tail());
  CHECK_FALSE(source.status().found);
  CHECK(source.status().problem.find("--perf-basic-prof") != std::string::npos);
  CHECK(source.lookup(0x1000) == nullptr);
}

TEST_CASE("PerfMapSource: finds a container's map through the innermost pid (NSpid)") {
  // Our own root stands in for the container's: /proc/PID/root/tmp/perf-NSPID.map.
  const int nspid = 0x50000000 + ::getpid();
  PerfMapFile map(nspid, "1000 100 JS:*inContainer /c.js:1:1\n", 0644);
  PerfMapSource source(::getpid(), status_with(::geteuid(), {::getpid(), nspid}), std::nullopt);
  CHECK(source.tail());
  CHECK(source.status().found);
  CHECK(source.status().trusted);
  CHECK(source.status().path == map.path);
  REQUIRE(source.lookup(0x1010) != nullptr);
  CHECK(source.lookup(0x1010)->name == "inContainer");
}

TEST_CASE("PerfMapSource: tails the map, starts over when it is rewritten") {
  PerfMapFile map(kNoSuchPid, "1000 100 JS:*first /a.js:1:1\n", 0644);
  PerfMapSource source(kNoSuchPid, status_with(::geteuid()), std::nullopt);
  CHECK(source.tail());
  CHECK(source.status().entries == 1);
  CHECK_FALSE(source.tail());  // nothing new
  map.append("2000 100 JS:*second /a.js:2:1\n");
  CHECK(source.tail());
  CHECK(source.status().entries == 2);
  REQUIRE(source.lookup(0x2000) != nullptr);
  CHECK(source.lookup(0x2000)->name == "second");
  { std::ofstream(map.path, std::ios::trunc) << "3000 10 JS:*third /b.js:1:1\n"; }
  CHECK(source.tail());
  CHECK(source.status().entries == 1);
  CHECK(source.lookup(0x1000) == nullptr);
  source.release();
  CHECK(source.lookup(0x3000) == nullptr);
  CHECK(source.status().found);  // the status stays for the final warning
}

TEST_CASE("PerfMapSource: a sparse tail (NUL bytes) is not read, what precedes it is kept, and later lines never are") {
  PerfMapFile map(kNoSuchPid, "1000 100 JS:*before /a.js:1:1\n", 0644);
  PerfMapSource source(kNoSuchPid, status_with(::geteuid()), std::nullopt);
  CHECK(source.tail());
  // A hole of 512 MiB (no disk), then a line: V8 never writes a NUL, so nothing from the hole on is
  // believed, and the hole is not read through (it would take seconds of system time).
  const off_t hole_at = static_cast<off_t>(std::filesystem::file_size(map.path));
  REQUIRE(::truncate(map.path.c_str(), hole_at + (off_t{512} << 20)) == 0);
  map.append("2000 100 JS:*after /a.js:2:1\n");
  source.tail();
  REQUIRE(source.lookup(0x1010) != nullptr);
  CHECK(source.lookup(0x1010)->name == "before");
  CHECK(source.lookup(0x2010) == nullptr);
  map.append("3000 100 JS:*later /a.js:3:1\n");
  CHECK_FALSE(source.tail());
  CHECK(source.lookup(0x3010) == nullptr);
  CHECK(source.status().entries == 1);
}

TEST_CASE("PerfMapSource: trust is checked when found and again on every tail") {
  SECTION("writable by others when found") {
    PerfMapFile map(kNoSuchPid, "1000 100 JS:*planted /e.js:1:1\n", 0666);
    PerfMapSource source(kNoSuchPid, status_with(::geteuid()), std::nullopt);
    CHECK_FALSE(source.tail());
    CHECK(source.status().found);
    CHECK_FALSE(source.status().trusted);
    CHECK(source.status().problem.find("writable by group or others") != std::string::npos);
    CHECK(source.lookup(0x1000) == nullptr);
  }
  SECTION("made writable by others after it was accepted: everything it said is dropped") {
    PerfMapFile map(kNoSuchPid, "1000 100 JS:*fine /f.js:1:1\n", 0644);
    PerfMapSource source(kNoSuchPid, status_with(::geteuid()), std::nullopt);
    CHECK(source.tail());
    REQUIRE(source.lookup(0x1000) != nullptr);
    ::chmod(map.path.c_str(), 0666);
    CHECK(source.tail());
    CHECK_FALSE(source.status().trusted);
    CHECK(source.status().problem.find("became writable") != std::string::npos);
    CHECK(source.status().entries == 0);
    CHECK(source.lookup(0x1000) == nullptr);
  }
  SECTION("owned by the target's user (from its status) or root, nobody else") {
    if (::geteuid() != 0) {
      WARN("not root: cannot chown; skipping");
      return;
    }
    PerfMapFile map(kNoSuchPid, "1000 100 JS:*theirs /t.js:1:1\n", 0644);
    REQUIRE(::chown(map.path.c_str(), 54321, 54321) == 0);
    PerfMapSource target_user(kNoSuchPid, status_with(54321), std::nullopt);
    CHECK(target_user.tail());
    CHECK(target_user.status().trusted);
    PerfMapSource other_user(kNoSuchPid, status_with(54322), std::nullopt);
    CHECK_FALSE(other_user.tail());
    CHECK_FALSE(other_user.status().trusted);
    CHECK(other_user.status().problem.find("owned by uid 54321") != std::string::npos);
  }
}

TEST_CASE("PerfMapSource: a map found by name and written before the target started is stale") {
  PerfMapFile map(kNoSuchPid, "1000 100 JS:*old /o.js:1:1\n", 0644);
  const double later = static_cast<double>(::time(nullptr)) + 100;
  PerfMapSource source(kNoSuchPid, status_with(::geteuid()), later);
  CHECK_FALSE(source.tail());
  CHECK(source.status().found);
  CHECK_FALSE(source.status().trusted);
  CHECK(source.status().problem.find("last written before pid") != std::string::npos);
}

TEST_CASE("PerfMapSource: a FIFO planted at the map's path is skipped without blocking") {
  const std::string path = "/tmp/perf-" + std::to_string(kNoSuchPid) + ".map";
  std::filesystem::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
  struct Remove {
    std::string p;
    ~Remove() { std::filesystem::remove(p); }
  } cleanup{path};
  // In a child: an open that blocked would wait for a writer forever.
  pid_t child = ::fork();
  if (child == 0) {
    PerfMapSource source(kNoSuchPid, status_with(::geteuid()), std::nullopt);
    ::_exit(!source.tail() && !source.status().found ? 0 : 1);
  }
  REQUIRE(child > 0);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      FAIL("opening the FIFO blocked");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}
