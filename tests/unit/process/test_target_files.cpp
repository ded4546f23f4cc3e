#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "loopperf/process/status.h"
#include "loopperf/process/target_files.h"

using loopperf::process::MapEntry;
using loopperf::process::ModuleFile;
using loopperf::process::ProcStatus;
using loopperf::process::TargetFiles;

namespace {

namespace fs = std::filesystem;

// A scratch directory removed when the test ends, however it ends.
struct ScratchDir {
  fs::path path = fs::temp_directory_path() / ("loopperf-target-files-" + std::to_string(::getpid()));
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::trunc) << text; }

uint64_t inode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_ino;
}

// A mapping of `path` at an address nothing is mapped at in this process: /proc/self/map_files has
// no entry for it, so the registry must fall back to the paths.
MapEntry unmapped_entry(const std::string& path, uint64_t inode) {
  MapEntry m;
  m.start = 0x100000000000ull;
  m.end = m.start + 0x1000;
  m.readable = m.executable = true;
  m.inode = inode;
  m.path = path;
  return m;
}

// Runs `fn` in a child process; true when it exits 0 within `limit`. A call that blocks forever
// (an open of a FIFO) must fail the test, not hang it.
bool finishes_ok_within(const std::function<bool()>& fn, std::chrono::seconds limit) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(fn() ? 0 : 1);
  REQUIRE(child > 0);
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string read_all(int fd) {
  std::string out(64, '\0');
  ssize_t n = ::pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

}  // namespace

TEST_CASE("status: one parser for every field its users need") {
  const std::string text =
      "Name:\tnode worker\n"
      "Umask:\t0022\n"
      "State:\tS (sleeping)\n"
      "Tgid:\t4242\n"
      "Ngid:\t0\n"
      "Pid:\t4243\n"
      "PPid:\t17\n"
      "Uid:\t1000\t1001\t1002\t1003\n"
      "Gid:\t2000\t2001\t2002\t2003\n"
      "NSpid:\t4243\t12\t7\n"
      "garbage line without a colon\n";
  ProcStatus st = loopperf::process::parse_status(text);
  CHECK(st.name == "node worker");
  CHECK(st.state == 'S');
  CHECK_FALSE(st.is_zombie());
  CHECK(st.tgid == 4242);
  CHECK(st.ppid == 17);
  REQUIRE(st.uid.has_value());
  CHECK(*st.uid == 1000);  // real, not effective
  REQUIRE(st.gid.has_value());
  CHECK(*st.gid == 2000);
  CHECK(st.nspid == std::vector<pid_t>{4243, 12, 7});
  CHECK(st.innermost_pid(4243) == 7);

  ProcStatus bare = loopperf::process::parse_status("State:\tZ (zombie)\nNSpid:\t12 x\n");
  CHECK(bare.is_zombie());
  CHECK_FALSE(bare.uid.has_value());
  CHECK(bare.nspid.empty());  // malformed: nothing believed
  CHECK(bare.innermost_pid(99) == 99);
}

TEST_CASE("TargetFiles: status is read once, at construction, and outlives the process") {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  REQUIRE(child > 0);
  TargetFiles files(child);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(files.status().has_value());
  CHECK(files.status()->tgid == child);
  CHECK(files.status()->ppid == ::getpid());
  CHECK(files.status()->uid == ::getuid());
  CHECK_FALSE(loopperf::process::read_status(child).ok());  // gone: only the kept copy knows

  TargetFiles gone(0x7ffffff0);
  CHECK_FALSE(gone.status().has_value());
  CHECK_FALSE(gone.refresh());
  CHECK(gone.maps().empty());
}

TEST_CASE("TargetFiles: a FIFO at a module's path is refused, without blocking") {
  ScratchDir dir;
  const fs::path fifo = dir.path / "libplanted.so";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const uint64_t inode = inode_of(fifo);
  // In a child: an open that blocked would wait for a writer forever.
  CHECK(finishes_ok_within(
      [&] {
        TargetFiles files(::getpid());
        const ModuleFile& f = files.file_for(unmapped_entry(fifo.string(), inode));
        return f.fd.get() < 0 && f.via.empty();
      },
      std::chrono::seconds(10)));
}

TEST_CASE("TargetFiles: only regular files are kept") {
  TargetFiles files(::getpid());
  CHECK(files.file_for(unmapped_entry("/dev/null", inode_of("/dev/null"))).fd.get() < 0);
  ScratchDir dir;
  CHECK(files.file_for(unmapped_entry(dir.path.string(), inode_of(dir.path))).fd.get() < 0);
}

TEST_CASE("TargetFiles: the paths are tried only for the mapped file itself") {
  ScratchDir dir;
  const fs::path lib = dir.path / "libx.so";
  write(lib, "original");
  const uint64_t inode = inode_of(lib);
  TargetFiles files(::getpid());

  SECTION("same inode: opened through the target's root, once") {
    const ModuleFile& f = files.file_for(unmapped_entry(lib.string(), inode));
    REQUIRE(f.fd.get() >= 0);
    CHECK(f.via == "root");
    CHECK(&files.file_for(unmapped_entry(lib.string(), inode)) == &f);  // one open per (path, inode)
    fs::remove(lib);
    CHECK(read_all(f.fd.get()) == "original");  // kept open: readable after the unlink
  }
  SECTION("replaced since the maps were read: another inode, refused") {
    const fs::path other = dir.path / "new";
    write(other, "replacement");
    fs::rename(other, lib);
    CHECK(files.file_for(unmapped_entry(lib.string(), inode)).fd.get() < 0);
  }
  SECTION("replaced by a symlink to the very file: refused") {
    const fs::path real = dir.path / "real.so";
    fs::rename(lib, real);
    fs::create_symlink(real, lib);
    CHECK(files.file_for(unmapped_entry(lib.string(), inode)).fd.get() < 0);
  }
  SECTION("deleted mapping: a file at its path is another one, never opened") {
    CHECK(files.file_for(unmapped_entry(lib.string() + " (deleted)", inode)).fd.get() < 0);
  }
}

TEST_CASE("TargetFiles: map_files is preferred, and reaches the mapped file after its path was replaced") {
  if (::geteuid() != 0) {
    WARN("not root: /proc/PID/map_files cannot be opened; skipping");
    return;
  }
  ScratchDir dir;
  const fs::path lib = dir.path / "libmapped.so";
  write(lib, std::string("mapped") + std::string(4090, 'x'));
  int raw = ::open(lib.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(raw >= 0);
  void* addr = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, raw, 0);
  ::close(raw);
  REQUIRE(addr != MAP_FAILED);
  struct Unmap {
    void* a;
    ~Unmap() { ::munmap(a, 4096); }
  } unmap{addr};
  const uint64_t inode = inode_of(lib);

  TargetFiles files(::getpid());
  REQUIRE(files.refresh());
  const MapEntry* entry = nullptr;
  for (const MapEntry& m : files.maps())
    if (m.path == lib.string()) entry = &m;
  REQUIRE(entry != nullptr);
  MapEntry m = *entry;
  CHECK(m.inode == inode);
  // The path now names another file; maps read before the replacement still say the old path.
  const fs::path other = dir.path / "new";
  write(other, "replacement");
  fs::rename(other, lib);
  const ModuleFile& f = files.file_for(m);
  REQUIRE(f.fd.get() >= 0);
  CHECK(f.via == "map_files");
  CHECK(read_all(f.fd.get()).rfind("mapped", 0) == 0);
}

TEST_CASE("TargetFiles: merged maps keep unmapped code, drop unmapped data, and count changes") {
  TargetFiles files(::getpid());
  auto entry = [](uint64_t start, uint64_t end, bool exec, const std::string& path) {
    MapEntry m;
    m.start = start;
    m.end = end;
    m.readable = true;
    m.executable = exec;
    m.path = path;
    return m;
  };
  CHECK(files.merge({entry(0x1000, 0x2000, true, "[anon:code]"), entry(0x3000, 0x4000, false, "[heap]")}));
  const uint64_t g = files.generation();
  CHECK_FALSE(
      files.merge({entry(0x1000, 0x2000, true, "[anon:code]"), entry(0x3000, 0x4000, false, "[heap]")}));
  CHECK(files.generation() == g);
  CHECK(files.merge({entry(0x5000, 0x6000, true, "")}));
  CHECK(files.generation() == g + 1);
  REQUIRE(files.maps().size() == 2);
  CHECK(files.maps()[0].start == 0x1000);  // code unmapped since: kept, sorted
  CHECK(files.maps()[1].start == 0x5000);
  CHECK(files.merge({entry(0x1800, 0x2800, true, "")}));  // overlaps the old code: the new one wins
  REQUIRE(files.maps().size() == 2);
  CHECK(files.maps()[0].start == 0x1800);
  files.release();
  CHECK(files.maps().empty());
}
