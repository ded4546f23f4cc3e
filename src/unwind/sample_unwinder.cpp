#include "loopperf/unwind/sample_unwinder.h"

#include <linux/perf_event.h>

namespace loopperf::unwind {

Result<UnwindMode> parse_unwind_mode(const std::string& s) {
  if (s == "fp") return UnwindMode::kFp;
  if (s == "dwarf") return UnwindMode::kDwarf;
  if (s == "auto") return UnwindMode::kAuto;
  return make_error(ErrorCode::kUsage, "unknown unwinding mode '" + s + "'", "use --unwind fp, dwarf or auto");
}

const char* unwind_mode_name(UnwindMode m) {
  switch (m) {
    case UnwindMode::kFp: return "fp";
    case UnwindMode::kDwarf: return "dwarf";
    case UnwindMode::kAuto: return "auto";
  }
  return "?";
}

UserRegs user_regs_from_sample(const sample::RawSample& s) {
  UserRegs regs;
  if (!s.regs) return regs;
  regs.valid = true;
  // The mask's bits in increasing order are the order the kernel wrote the registers in.
  size_t k = 0;
  for (int bit = 0; bit < 64 && k < s.regs_count; bit++)
    if (kSampledRegsMask & (1ULL << bit)) regs.r[bit] = s.regs[k++];
  return regs;
}

SampleUnwinder::SampleUnwinder(std::shared_ptr<process::TargetFiles> files, UnwindMode mode,
                               const std::string& fp_binary)
    : mode_(mode), modules_(std::move(files), mode == UnwindMode::kAuto ? fp_binary : std::string()) {
  if (mode_ != UnwindMode::kFp) {
    modules_.refresh();
    unwinder_ = std::make_unique<HybridUnwinder>(modules_);
  }
}

void SampleUnwinder::refresh_modules() {
  if (mode_ == UnwindMode::kFp) return;
  modules_.refresh();
}

EndReason SampleUnwinder::frames_for(const sample::RawSample& s, std::vector<profile::Frame>& out) {
  if (mode_ == UnwindMode::kFp || !s.regs) {
    frames_from_callchain(s.ips, s.nr, out);
    ends_[static_cast<size_t>(EndReason::kKernelChain)]++;
    return EndReason::kKernelChain;
  }
  // Kernel frames come from the kernel's callchain as they are; the user part is unwound here.
  user_chain_.clear();
  bool kernel = false, user = false, first = true;
  for (uint64_t i = 0; i < s.nr; i++) {
    uint64_t ip = s.ips[i];
    if (ip >= PERF_CONTEXT_MAX) {
      kernel = ip == PERF_CONTEXT_KERNEL;
      user = ip == PERF_CONTEXT_USER;
      continue;
    }
    if (kernel && ip) {
      out.push_back(profile::Frame{first ? ip : ip - 1, true});
      first = false;
    } else if (user) {
      user_chain_.push_back(ip);
    }
  }
  UserRegs regs = user_regs_from_sample(s);
  // Code mapped since the last refresh (the dynamic loader right after exec, dlopen'd addons):
  // re-read the maps now rather than lose these stacks. Rate-limited: /proc/PID/maps costs ~50 us.
  if (!modules_.find(regs.ip()) && s.time_ns >= last_refresh_ns_ + 10'000'000) {
    modules_.refresh();
    last_refresh_ns_ = s.time_ns;
  }
  StackCopyMemory stack(regs.sp(), s.stack, s.stack ? s.stack_size : 0);
  size_t before = out.size();
  EndReason end = unwinder_->unwind(regs, stack, user_chain_, out);
  // A leaf inside the kernel makes the user "leaf" a return point (after the syscall instruction).
  if (!first && out.size() > before) out[before].addr -= 1;
  ends_[static_cast<size_t>(end)]++;
  return end;
}

}  // namespace loopperf::unwind
