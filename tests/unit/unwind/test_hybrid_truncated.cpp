#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <vector>

#include "loopperf/unwind/hybrid.h"
#include "loopperf/unwind/modules.h"

using namespace loopperf::unwind;

// A library cut short on disk while loopperf unwinds through it (badinput's "library truncated"
// case killed record once in CI): the unwinder's reads of the mapped file are guarded against
// SIGBUS, but libunwind called them with every signal blocked (its global cache's lock), and a
// fault while SIGBUS is blocked kills the process whatever its handler. Here: a copy of libc (no
// frame pointers, full CFI) stands in for the target's library, is mapped, then truncated; the
// unwind must end, not crash the test.
TEST_CASE("DWARF unwinding through a library truncated on disk ends the unwind instead of crashing") {
  Dl_info info{};
  REQUIRE(::dladdr(reinterpret_cast<void*>(&::getpid), &info) != 0);
  const auto copy = std::filesystem::temp_directory_path() / ("loopperf-truncated-" + std::to_string(::getpid()) + ".so");
  std::filesystem::copy_file(info.dli_fname, copy, std::filesystem::copy_options::overwrite_existing);
  struct Remove {
    std::filesystem::path p;
    ~Remove() { std::filesystem::remove(p); }
  } cleanup{copy};
  struct stat st {};
  REQUIRE(::stat(copy.c_str(), &st) == 0);

  // The copy "mapped" at a made-up address, as a maps line would describe it.
  const uint64_t start = 0x100000000000ull;
  loopperf::process::MapEntry m;
  m.start = start;
  m.end = start + ((static_cast<uint64_t>(st.st_size) + 4095) & ~4095ull);
  m.offset = 0;
  m.readable = m.executable = true;
  m.inode = st.st_ino;
  m.path = copy.string();
  ModuleMap modules(::getpid(), "");
  modules.add_mappings({m});
  const Module* mod = modules.find(start + 0x1000);
  REQUIRE(mod != nullptr);
  REQUIRE(mod->fde_count > 0);  // read while the file was whole

  std::filesystem::resize_file(copy, 0);

  UserRegs regs;
  regs.valid = true;
  regs.r[kIP] = start + (reinterpret_cast<uint64_t>(&::getpid) - reinterpret_cast<uint64_t>(info.dli_fbase));
  std::vector<uint8_t> stack(512, 0);
  regs.r[kSP] = 0x7ff000000000ull;
  regs.r[kBP] = 0;
  StackCopyMemory memory(regs.sp(), stack.data(), stack.size());
  HybridUnwinder unwinder(modules);
  std::vector<loopperf::profile::Frame> out;
  EndReason end = unwinder.unwind(regs, memory, {}, out);
  CHECK(end != EndReason::kComplete);  // nothing could be read: the unwind ends early
  CHECK(out.size() <= 1);
}
