// Test helpers for the v8 stage: finding the node binary of a major version, running a node child
// with a script until it says it is ready, and taking one stack of its main thread the way the
// unwinder does (ptrace-stop, frame-pointer walk in live memory, the JS candidate frames' slots).
#pragma once

#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "loopperf/process/maps.h"
#include "loopperf/process/ptrace_stop.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "loopperf/v8/heap_reader.h"
#include "loopperf/v8/layout.h"
#include "test_nodes.h"

namespace v8_test {

// The official node binary of `major` (20, 22, 24, 26), "" when not installed: the one lookup of
// tests/unit/test_nodes.h (scripts/test-nodes.sh).
inline std::string node_binary(int major) { return lp_test::test_node_binary(major); }

// A temporary directory, removed with everything in it.
struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "loopperf-v8-XXXXXX").string();
    if (::mkdtemp(t.data()) != nullptr) path = t;
  }
  ~TempDir() {
    if (!path.empty()) std::filesystem::remove_all(path);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = std::filesystem::path(path) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
};

// A node child running `script` (with `flags` before it) in `dir`; killed and reaped at the end.
class NodeChild {
 public:
  NodeChild(const std::string& node, const std::vector<std::string>& flags, const std::string& dir,
            const std::string& script, const std::string& ready) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      std::vector<std::string> args{node};
      args.insert(args.end(), flags.begin(), flags.end());
      args.push_back(script);
      args.push_back(ready);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~NodeChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  NodeChild(const NodeChild&) = delete;
  NodeChild& operator=(const NodeChild&) = delete;
  pid_t pid() const { return pid_; }

  // Waits for the readiness file; false when node exited or the time ran out.
  bool wait_ready(const std::string& ready, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(ready)) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

inline bool read_remote(pid_t pid, uint64_t addr, void* dst, size_t len) {
  iovec local{dst, len}, remote{reinterpret_cast<void*>(addr), len};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// One stack of the stopped thread: every frame-pointer frame whose pc is in anonymous executable
// memory (JIT code) or in the builtins, with its slots read, leaf first. The leaf's pc is rip; the
// callers' are return addresses - 1. A pc in a mapping of the node binary is turned into an ELF
// vaddr through the mapping's file offset: V8 maps the embedded builtins a second time, near its
// code range (short builtin calls), and runs them from there.
inline std::vector<loopperf::v8::FrameSlots> candidate_frames(
    pid_t pid, const user_regs_struct& regs, const loopperf::v8::Layout& layout,
    loopperf::symbols::ElfFile& elf, const std::string& exe,
    const std::vector<loopperf::process::MapEntry>& maps) {
  const std::string real = std::filesystem::canonical(exe).string();
  std::vector<loopperf::v8::FrameSlots> out;
  // The pc as the reader wants it, or 0 when the frame is not a JS candidate.
  auto candidate_pc = [&](uint64_t pc) -> uint64_t {
    const loopperf::process::MapEntry* m = loopperf::process::find_map(maps, pc);
    if (m == nullptr || !m->executable) return 0;
    if (m->clean_path() == real) {
      const uint64_t vaddr = elf.file_offset_to_vaddr(m->offset + (pc - m->start));
      return vaddr >= layout.builtins_start && vaddr < layout.builtins_end ? vaddr : 0;
    }
    return m->path.empty() || m->path.starts_with("[anon") ? pc : 0;
  };
  uint64_t pc = regs.rip, fp = regs.rbp;
  for (int depth = 0; depth < 512 && fp != 0 && (fp & 7) == 0; ++depth) {
    if (const uint64_t cpc = candidate_pc(pc)) {
      loopperf::v8::FrameSlots s;
      s.pc = cpc;
      s.fp = fp;
      read_remote(pid, fp + layout.fp_context, &s.context_or_marker, 8);
      read_remote(pid, fp + layout.fp_function, &s.function, 8);
      read_remote(pid, fp + layout.fp_bytecode_array, &s.bytecode_array, 8);
      read_remote(pid, fp + layout.fp_bytecode_offset, &s.bytecode_offset, 8);
      out.push_back(s);
    }
    uint64_t next[2];
    if (!read_remote(pid, fp, next, sizeof next)) break;
    if (next[0] <= fp) break;  // stacks grow down: callers' frames are above
    fp = next[0];
    pc = next[1] - 1;
  }
  return out;
}

}  // namespace v8_test
