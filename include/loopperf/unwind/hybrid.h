// Hybrid unwinding: libunwind with CFI (.eh_frame) for code without frame pointers (glibc, native
// addons), the frame-pointer chain for V8's JIT code and builtins (no CFI) and for code known to
// keep frame pointers (node itself). Memory comes from a Memory backend: the sampled stack copy
// (record) or the stopped thread's live memory (dump); unwind tables and code always come from the
// module files, never from the target.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "loopperf/unwind/callchain.h"
#include "loopperf/unwind/modules.h"

namespace loopperf::unwind {

// x86-64 user registers, indexed like perf's enum perf_event_x86_regs.
enum PerfReg : int { kAX = 0, kBX, kCX, kDX, kSI, kDI, kBP, kSP, kIP, kFLAGS, kR8 = 16, kR9, kR10, kR11, kR12, kR13, kR14, kR15 };
struct UserRegs {
  std::array<uint64_t, 24> r{};
  bool valid = false;
  uint64_t ip() const { return r[kIP]; }
  uint64_t sp() const { return r[kSP]; }
  uint64_t bp() const { return r[kBP]; }
};
// From ptrace (PTRACE_GETREGS).
UserRegs user_regs_from_ptrace(const struct user_regs_struct& r);

// The registers loopperf samples (PERF_SAMPLE_REGS_USER): all general-purpose ones CFI may name.
constexpr uint64_t kSampledRegsMask = 0x1ffULL | (0xffULL << 16);

class Memory {
 public:
  virtual ~Memory() = default;
  virtual bool read(uint64_t addr, void* out, size_t n) = 0;
};

// The user stack copied by the kernel at sample time (PERF_SAMPLE_STACK_USER), starting at sp.
class StackCopyMemory : public Memory {
 public:
  StackCopyMemory(uint64_t sp, const uint8_t* data, size_t size) : sp_(sp), data_(data), size_(size) {}
  bool read(uint64_t addr, void* out, size_t n) override;

 private:
  uint64_t sp_;
  const uint8_t* data_;
  size_t size_;
};

// A ptrace-stopped thread's memory (process_vm_readv).
class LiveMemory : public Memory {
 public:
  explicit LiveMemory(pid_t pid) : pid_(pid) {}
  bool read(uint64_t addr, void* out, size_t n) override;

 private:
  pid_t pid_;
};

// How a stack's walk ended: shown in the profile so truncation is visible.
enum class EndReason : uint8_t {
  kKernelChain,    // leaf in frame-pointer code: the kernel's callchain was used as is
  kSpliced,        // DWARF through the frames without frame pointers, then the kernel's callchain
  kComplete,       // reached the thread's entry (CFI end of stack, or rbp == 0)
  kStackShort,     // needed stack memory beyond the copy
  kNoUnwindInfo,   // a pc in a module without CFI and without a usable frame pointer
  kUnknownModule,  // a pc in no known mapping
  kBadFrame,       // the frame chain went backwards or into nonsense
  kMaxDepth,
  kCount
};
const char* end_reason_name(EndReason r);
// The walk stopped before the thread's entry: the outer frames (uv_run among them) are missing.
bool cut_short(EndReason r);

class HybridUnwinder {
 public:
  explicit HybridUnwinder(const ModuleMap& modules, size_t max_depth = 256);
  ~HybridUnwinder();
  HybridUnwinder(const HybridUnwinder&) = delete;
  HybridUnwinder& operator=(const HybridUnwinder&) = delete;

  // Appends the user frames of one stack to `out` (leaf first; callers are return address - 1).
  // `kernel_user_chain` is the user part of the kernel's frame-pointer callchain for the same
  // sample (may be empty, e.g. in dump).
  EndReason unwind(const UserRegs& regs, Memory& memory, std::span<const uint64_t> kernel_user_chain,
                   std::vector<profile::Frame>& out);

  // Forget cached unwind info (after modules changed).
  void flush_cache();

  // Stacks whose frame-pointer chain was cut inside code without frame pointers and walked again
  // with CFI from there.
  uint64_t rewalked() const { return rewalked_; }

  struct Context;

 private:
  static constexpr size_t kNoCut = SIZE_MAX;
  // The kernel's user chain, looked at once: where it is to be walked again (the first frame in code
  // with CFI and no frame pointers; kNoCut when none), and whether it went through a return address
  // outside every module.
  struct ChainScan {
    size_t cut = kNoCut;
    bool left_modules = false;
  };
  ChainScan scan_chain(std::span<const uint64_t> chain) const;
  // rip, rsp and rbp at frame `index` of the kernel's chain, by the frame pointers it followed.
  bool regs_at_chain_frame(const UserRegs& regs, Memory& memory, std::span<const uint64_t> chain, size_t index,
                           UserRegs& at) const;
  // Where a walk may hand over to the kernel's chain: back in frame-pointer code with rbp == bp.
  struct Splice {
    const std::span<const uint64_t>* chain = nullptr;
    uint64_t bp = 0;
    uint64_t stack_sp = 0;  // the sampled sp (the copy's start)
    size_t base = 0;        // out.size() when the stack began
  };
  // Frame by frame from `cur`: frame pointers in code that keeps them (or has no CFI), libunwind
  // with CFI elsewhere, switching as the frames go.
  EndReason walk(UserRegs cur, Memory& memory, size_t depth, const Splice& splice, std::vector<profile::Frame>& out);
  // The sampled leaf's CFI needs a word of its red zone: candidates from the copy, each checked by
  // the whole walk it leads to. The end reason of the walk taken, or nothing when none held.
  std::optional<EndReason> step_past_red_zone(const UserRegs& regs, Memory& memory, std::vector<profile::Frame>& out);
  const ModuleMap& modules_;
  size_t max_depth_;
  void* as_ = nullptr;  // unw_addr_space_t
  uint64_t rewalked_ = 0;
};

}  // namespace loopperf::unwind
