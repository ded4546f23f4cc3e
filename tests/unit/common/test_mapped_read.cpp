#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "loopperf/common/mapped_read.h"

namespace {

// A 3-page file mapped read-only, as loopperf maps the target's binaries.
struct MappedFile {
  std::string path;
  int fd = -1;
  char* data = nullptr;
  size_t size = 3 * 4096;
  MappedFile() {
    char tmpl[] = "/tmp/lp-mapped-XXXXXX";
    fd = ::mkstemp(tmpl);
    path = tmpl;
    std::string content(size, 'x');
    content[100] = '\0';
    std::memcpy(&content[5000], "a name\0", 7);
    REQUIRE(::write(fd, content.data(), size) == static_cast<ssize_t>(size));
    data = static_cast<char*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
    REQUIRE(data != MAP_FAILED);
  }
  ~MappedFile() {
    ::munmap(data, size);
    ::close(fd);
    ::unlink(path.c_str());
  }
};

}  // namespace

TEST_CASE("mapped reads: whole file readable, strings up to their terminator") {
  MappedFile f;
  char buf[16];
  CHECK(loopperf::mapped_copy(buf, f.data + 3 * 4096 - 16, 16));
  CHECK(loopperf::mapped_string(f.data + 5000) == std::optional<std::string>("a name"));
  CHECK(loopperf::mapped_string(f.data + 90) == std::optional<std::string>("xxxxxxxxxx"));
  CHECK_FALSE(loopperf::mapped_string(f.data, 50).has_value());  // no terminator within 50 bytes
  CHECK(loopperf::mapped_equals(f.data + 5000, "a name"));
  CHECK_FALSE(loopperf::mapped_equals(f.data + 5000, "a nam"));    // a prefix is not the name
  CHECK_FALSE(loopperf::mapped_equals(f.data + 5000, "a names"));
  CHECK_FALSE(loopperf::mapped_equals(f.data + 5000, "b name"));
  const std::vector<std::string> wants{"a nam", "b name", "a name", "a name"};
  CHECK(loopperf::mapped_match(f.data + 5000, wants) == 2);  // the first equal one
  CHECK(loopperf::mapped_match(f.data + 5000, std::vector<std::string>{"x", ""}) == -1);
}

TEST_CASE("mapped reads: a file cut short under the mapping fails the read instead of killing us") {
  MappedFile f;
  REQUIRE(::ftruncate(f.fd, 4096) == 0);  // pages 2 and 3 are gone: touching them is SIGBUS
  char buf[16];
  CHECK(loopperf::mapped_copy(buf, f.data + 10, 16));  // still there
  CHECK_FALSE(loopperf::mapped_copy(buf, f.data + 5000, 16));
  CHECK_FALSE(loopperf::mapped_string(f.data + 5000).has_value());
  CHECK(loopperf::mapped_string(f.data + 95) == std::optional<std::string>("xxxxx"));
  CHECK_FALSE(loopperf::mapped_equals(f.data + 5000, "a name"));
  CHECK(loopperf::mapped_equals(f.data + 95, "xxxxx"));
  CHECK(loopperf::mapped_match(f.data + 5000, std::vector<std::string>{"a name"}) == -1);
  CHECK(loopperf::mapped_match(f.data + 95, std::vector<std::string>{"a name", "xxxxx"}) == 1);
  // And again: the handler stays usable (SIGBUS is not left blocked after the jump).
  CHECK_FALSE(loopperf::mapped_copy(buf, f.data + 9000, 1));
}

TEST_CASE("mapped reads: any other SIGBUS still ends the process with SIGBUS") {
  MappedFile f;
  char buf[1];
  REQUIRE(loopperf::mapped_copy(buf, f.data, 1));  // the handler is installed
  for (bool sent : {true, false}) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      if (sent) ::raise(SIGBUS);
      ::ftruncate(f.fd, 0);
      volatile char c = f.data[8000];  // an unguarded read of a page that is gone
      (void)c;
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGBUS);
  }
}
