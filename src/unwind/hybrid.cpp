#include "loopperf/unwind/hybrid.h"

#include <sys/uio.h>

#include <cstring>
#include <optional>
#include <string_view>

#define UNW_REMOTE_ONLY
#include <libunwind.h>

// Not in libunwind's public headers, but exported and used the same way by perf
// (tools/perf/util/unwind-libunwind-local.c): binary search of an .eh_frame_hdr table read
// through our access_mem.
extern "C" int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t* di,
                                                  unw_proc_info_t* pi, int need_unwind_info, void* arg);

namespace loopperf::unwind {

bool StackCopyMemory::read(uint64_t addr, void* out, size_t n) {
  if (addr < sp_ || addr - sp_ > size_ || n > size_ - (addr - sp_)) return false;
  std::memcpy(out, data_ + (addr - sp_), n);
  return true;
}

bool LiveMemory::read(uint64_t addr, void* out, size_t n) {
  iovec local{out, n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  return ::process_vm_readv(pid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

UserRegs user_regs_from_ptrace(const user_regs_struct& r) {
  UserRegs u;
  u.valid = true;
  u.r[kAX] = r.rax;
  u.r[kBX] = r.rbx;
  u.r[kCX] = r.rcx;
  u.r[kDX] = r.rdx;
  u.r[kSI] = r.rsi;
  u.r[kDI] = r.rdi;
  u.r[kBP] = r.rbp;
  u.r[kSP] = r.rsp;
  u.r[kIP] = r.rip;
  u.r[kFLAGS] = r.eflags;
  u.r[kR8] = r.r8;
  u.r[kR9] = r.r9;
  u.r[kR10] = r.r10;
  u.r[kR11] = r.r11;
  u.r[kR12] = r.r12;
  u.r[kR13] = r.r13;
  u.r[kR14] = r.r14;
  u.r[kR15] = r.r15;
  return u;
}

const char* end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::kKernelChain: return "fp";
    case EndReason::kSpliced: return "dwarf+fp";
    case EndReason::kComplete: return "complete";
    case EndReason::kStackShort: return "stack-copy-too-short";
    case EndReason::kNoUnwindInfo: return "no-unwind-info";
    case EndReason::kUnknownModule: return "unknown-module";
    case EndReason::kBadFrame: return "bad-frame";
    case EndReason::kMaxDepth: return "max-depth";
    case EndReason::kCount: break;
  }
  return "?";
}

bool cut_short(EndReason r) {
  return r == EndReason::kStackShort || r == EndReason::kNoUnwindInfo || r == EndReason::kUnknownModule ||
         r == EndReason::kBadFrame || r == EndReason::kMaxDepth;
}

struct HybridUnwinder::Context {
  const ModuleMap* modules;
  const UserRegs* regs;  // the registers libunwind's cursor was initialized from
  Memory* memory;
  uint64_t stack_sp = 0;  // the sampled sp: where the stack copy starts
  bool stack_short = false;
  // The leaf's red zone (the 128 bytes below the sampled sp, never copied): whether CFI asked for it,
  // and the value to answer with while a candidate is tried (HybridUnwinder::step_past_red_zone).
  bool red_zone_read = false;
  std::optional<uint64_t> red_zone_value;
};

namespace {

using Ctx = HybridUnwinder::Context;

constexpr uint64_t kRedZone = 128;  // x86-64 SysV: below rsp, usable without moving it

int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need_unwind_info, void* arg) {
  auto* ctx = static_cast<Ctx*>(arg);
  const Module* m = ctx->modules->find(ip);
  // JIT code has no CFI, and must never be interpreted as if it had.
  if (!m || m->jit || !m->image || !m->fde_count) return -UNW_ENOINFO;
  unw_dyn_info_t di;
  std::memset(&di, 0, sizeof di);
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.start_ip = m->text_start;
  di.end_ip = m->text_end;
  di.u.rti.segbase = m->hdr_runtime;
  di.u.rti.table_data = m->table_runtime;
  di.u.rti.table_len = m->fde_count * 8 / sizeof(unw_word_t);  // entries are two int32s
  return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

void put_unwind_info(unw_addr_space_t, unw_proc_info_t*, void*) {}  // libunwind frees table-format info itself

int get_dyn_info_list_addr(unw_addr_space_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* valp, int write, void* arg) {
  auto* ctx = static_cast<Ctx*>(arg);
  if (write) return -UNW_EINVAL;
  if (ctx->memory->read(addr, valp, sizeof *valp)) return 0;
  if (ctx->modules->read(addr, valp, sizeof *valp)) return 0;  // .eh_frame, .eh_frame_hdr from the file
  // An address just above the copy is a stack read the copy was too small for.
  uint64_t sp = ctx->stack_sp;
  if (addr >= sp && addr - sp < (64u << 20)) ctx->stack_short = true;
  if (addr < sp && sp - addr <= kRedZone) {
    if (ctx->red_zone_value) {
      *valp = *ctx->red_zone_value;
      return 0;
    }
    ctx->red_zone_read = true;
  }
  *valp = 0;
  return -UNW_EINVAL;
}

int perf_reg_of(int unw_reg) {
  switch (unw_reg) {
    case UNW_X86_64_RAX: return kAX;
    case UNW_X86_64_RDX: return kDX;
    case UNW_X86_64_RCX: return kCX;
    case UNW_X86_64_RBX: return kBX;
    case UNW_X86_64_RSI: return kSI;
    case UNW_X86_64_RDI: return kDI;
    case UNW_X86_64_RBP: return kBP;
    case UNW_X86_64_RSP: return kSP;
    case UNW_X86_64_RIP: return kIP;
    default:
      if (unw_reg >= UNW_X86_64_R8 && unw_reg <= UNW_X86_64_R15) return kR8 + (unw_reg - UNW_X86_64_R8);
      return -1;
  }
}

int access_reg(unw_addr_space_t, unw_regnum_t regnum, unw_word_t* valp, int write, void* arg) {
  auto* ctx = static_cast<Ctx*>(arg);
  int r = perf_reg_of(regnum);
  if (write || r < 0) return -UNW_EBADREG;
  *valp = ctx->regs->r[r];
  return 0;
}

int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EINVAL; }
int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }
int get_proc_name(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) { return -UNW_EINVAL; }

unw_accessors_t g_accessors = {find_proc_info, put_unwind_info, get_dyn_info_list_addr, access_mem,
                               access_reg,     access_fpreg,    resume,                 get_proc_name};

// The caller's registers after a CFI step: what CFI restores (rip, rsp, rbp and the callee-saved ones).
void take_regs(unw_cursor_t& cursor, UserRegs& regs) {
  for (int reg : {UNW_X86_64_RIP, UNW_X86_64_RSP, UNW_X86_64_RBP, UNW_X86_64_RBX, UNW_X86_64_R12, UNW_X86_64_R13,
                  UNW_X86_64_R14, UNW_X86_64_R15}) {
    unw_word_t v = 0;
    if (unw_get_reg(&cursor, reg, &v) == 0) regs.r[perf_reg_of(reg)] = v;
  }
}

bool plausible_frame_pointer(uint64_t bp, uint64_t sp) { return bp >= sp && bp - sp < (64u << 20) && (bp & 7) == 0; }

}  // namespace

HybridUnwinder::HybridUnwinder(const ModuleMap& modules, size_t max_depth) : modules_(modules), max_depth_(max_depth) {
  unw_addr_space_t as = unw_create_addr_space(&g_accessors, 0);
  // No register-state cache: libunwind 1.6 takes its cache's lock with every signal blocked and
  // calls our find_proc_info and access_mem under it. A SIGBUS while SIGBUS is blocked kills the
  // process whatever its handler, so the guarded reads of a library cut short on disk
  // (common/mapped_read.h) could not save the recording (badinput's "library truncated" killed
  // record in CI; tests/unit/unwind/test_hybrid_truncated.cpp). UNW_CACHE_PER_THREAD would take no
  // lock, but Debian's build has no TLS cache and turns it back into the global one. The price:
  // every DWARF step parses its CFI again (~25 us more per sample for an all-DWARF native stack;
  // none measurable for node, whose frames are walked by frame pointers in auto mode).
  unw_set_caching_policy(as, UNW_CACHE_NONE);
  as_ = as;
}

HybridUnwinder::~HybridUnwinder() { unw_destroy_addr_space(static_cast<unw_addr_space_t>(as_)); }

void HybridUnwinder::flush_cache() { unw_flush_cache(static_cast<unw_addr_space_t>(as_), 0, 0); }

namespace {

// The C library's entry frames (__libc_start_call_main, __libc_start_main, start_thread, clone3)
// sit at the outer end of every complete stack and have no frame pointers: a frame-pointer chain
// that ends in them ended where it should.
bool is_c_library(const Module* m) { return m && m->c_library; }

bool has_cfi(const Module* m) { return m && !m->jit && m->image && m->fde_count; }

}  // namespace

HybridUnwinder::ChainScan HybridUnwinder::scan_chain(std::span<const uint64_t> chain) const {
  // A frame-pointer chain that enters code with CFI and no frame pointers (Debian's shared libuv
  // and libnode, a native addon) is not to be trusted beyond it: such code may use rbp for anything,
  // and the kernel's walk then ends there or goes on through garbage. Walk again with CFI from the
  // first such frame. The C library's entry frames at the chain's end (__libc_start_call_main,
  // start_thread, clone3) are where a complete chain ends, and are left as they are. A return
  // address in no mapped module is where a walk through a bad rbp went (a real caller is always in
  // a file or in V8's code space). One lookup per frame, for both.
  ChainScan scan;
  for (size_t i = 1; i < chain.size() && !(scan.cut != kNoCut && scan.left_modules); i++) {
    const Module* m = modules_.find(chain[i]);
    if (!m && chain[i]) scan.left_modules = true;
    if (m && m->cfi_without_fp && scan.cut == kNoCut) scan.cut = i;
  }
  return scan;
}

bool HybridUnwinder::regs_at_chain_frame(const UserRegs& regs, Memory& memory, std::span<const uint64_t> chain,
                                         size_t index, UserRegs& at) const {
  // Follow the frame pointers the kernel followed, checking each return address against its chain,
  // to learn rsp and rbp at frame `index`.
  uint64_t bp = regs.bp();
  for (size_t k = 1; k <= index; k++) {
    uint64_t frame[2];
    if (bp == 0 || !memory.read(bp, frame, sizeof frame) || frame[1] != chain[k]) return false;
    if (k == index) {
      at = UserRegs{};
      at.valid = true;
      at.r[kIP] = frame[1];
      at.r[kSP] = bp + 16;
      at.r[kBP] = frame[0];
      return true;
    }
    if (frame[0] <= bp) return false;
    bp = frame[0];
  }
  return false;
}

EndReason HybridUnwinder::walk(UserRegs cur, Memory& memory, size_t depth, const Splice& splice,
                               std::vector<profile::Frame>& out) {
  Context ctx{&modules_, nullptr, &memory, splice.stack_sp, false, false, std::nullopt};
  UserRegs cursor_regs;  // what the libunwind cursor was initialized from (it reads them lazily)
  unw_cursor_t cursor;
  bool cursor_ready = false;
  bool via_fp = false;  // this frame was reached by following a frame pointer
  for (; depth < max_depth_; depth++) {
    const uint64_t ip = cur.ip();
    if (ip == 0) return EndReason::kComplete;
    out.push_back(profile::Frame{depth == 0 ? ip : ip - 1, false});
    const Module* m = modules_.find(ip);
    if (!m && depth > 0) return EndReason::kUnknownModule;
    // Code that keeps frame pointers, unless rbp holds no frame address here and CFI can do
    // better (the assembly of a library built into node: OpenSSL's SHA and AES loops).
    const bool fp_code =
        m && (m->jit || (m->fp_trusted && (!has_cfi(m) || plausible_frame_pointer(cur.bp(), cur.sp()))));
    // Reached by a frame pointer, the C library's frames are followed the same way: what lies beyond
    // them is the thread's entry (start_thread, clone3; __libc_start_call_main), and a DWARF step costs
    // ~25 us here and more in dump, where every read is a system call.
    const bool fp_into_libc = via_fp && is_c_library(m);
    if (fp_code || !has_cfi(m) || fp_into_libc) {
      const uint64_t bp = cur.bp();
      if (depth > 0 && m && m->fp_trusted && splice.chain && bp == splice.bp) {
        // Back in frame-pointer code with the rbp the kernel started from: the kernel's chain
        // already holds every caller from here on.
        const auto& chain = *splice.chain;
        for (size_t i = 1; i < chain.size() && out.size() - splice.base < max_depth_; i++)
          if (chain[i]) out.push_back(profile::Frame{chain[i] - 1, false});
        return EndReason::kSpliced;
      }
      if (!fp_code && !plausible_frame_pointer(bp, cur.sp()) && !fp_into_libc)
        return m ? EndReason::kNoUnwindInfo : EndReason::kUnknownModule;
      // Frame layout: [bp] = caller's bp, [bp+8] = return address. The stack grows down, so each
      // caller's frame lies above.
      if (bp == 0) return EndReason::kComplete;  // _start and clone3 clear rbp for the outermost frame
      uint64_t frame[2];
      if (!memory.read(bp, frame, sizeof frame)) return EndReason::kStackShort;
      if (frame[1] == 0) return EndReason::kComplete;
      // The saved rbp must lead further up the stack, unless the caller will be walked with CFI (a
      // distribution's libnode keeps no frame pointers: its rbp is whatever it held). The C library
      // is followed by frame pointer from here (above), so its rbp must be one.
      const Module* caller = modules_.find(frame[1]);
      if (caller || !m || !m->fp_trusted || !has_cfi(m)) {
        const bool caller_cfi = caller && caller->cfi_without_fp;
        if (frame[0] != 0 && frame[0] <= bp && !caller_cfi) {
          out.push_back(profile::Frame{frame[1] - 1, false});
          return EndReason::kBadFrame;
        }
        cur.r[kIP] = frame[1];
        cur.r[kSP] = bp + 16;
        cur.r[kBP] = frame[0];
        cursor_ready = false;
        via_fp = true;
        continue;
      }
      // No return address there: rbp held a stack address that is no frame record (the second
      // half of OpenSSL's SHA-512 keeps a pointer into its message schedule in it). This frame's
      // CFI knows better.
    }
    if (!cursor_ready) {
      cursor_regs = cur;
      ctx.regs = &cursor_regs;
      if (unw_init_remote(&cursor, static_cast<unw_addr_space_t>(as_), &ctx) < 0) return EndReason::kBadFrame;
      cursor_ready = true;
    }
    via_fp = false;
    ctx.stack_short = false;
    ctx.red_zone_read = false;
    int r = unw_step(&cursor);
    if (r == 0) return EndReason::kComplete;
    if (r < 0 && ctx.red_zone_read && depth == 0 && cur.sp() == splice.stack_sp)
      if (auto end = step_past_red_zone(cursor_regs, memory, out)) return *end;
    if (r < 0) return ctx.stack_short ? EndReason::kStackShort : EndReason::kBadFrame;
    take_regs(cursor, cur);
  }
  return EndReason::kMaxDepth;
}

namespace {

// Is `ret` a return address: just after a call instruction in a module's code? (E8 rel32, and the
// FF /2 forms: register, [reg+disp8], [reg+disp32], [rip+disp32].)
bool after_call(const ModuleMap& modules, uint64_t ret) {
  const Module* m = modules.find(ret);
  if (!m || m->jit || ret < 7) return false;
  uint8_t b[7];
  if (!modules.read(ret - 7, b, sizeof b)) return false;
  auto ff2 = [&](size_t len, uint8_t mod) {
    const uint8_t op = b[7 - len], modrm = b[8 - len];
    return op == 0xff && ((modrm >> 3) & 7) == 2 && (modrm >> 6) == mod;
  };
  return b[2] == 0xe8 || ff2(2, 3) || ff2(3, 1) || ff2(6, 2) || (b[1] == 0xff && b[2] == 0x15);
}

}  // namespace

std::optional<EndReason> HybridUnwinder::step_past_red_zone(const UserRegs& regs, Memory& memory,
                                                             std::vector<profile::Frame>& out) {
  // The leaf's CFI finds its frame through a word in the red zone, below the sampled sp, which the
  // kernel's copy starts above: OpenSSL's SHA-512 (and SHA-256) AVX2 loops move rsp down in steps
  // and keep the stack pointer they entered with at -8(%rsp). That value is the address of the
  // leaf's return address, and the leaf also stored it in its frame: a word of the copy that points
  // further up the copy, at a return address just after a call instruction. Each such candidate is
  // given to the CFI in place of the missing word, and is taken only if the CFI used it as the saved
  // stack pointer and the walk from the caller it yields reaches the thread's entry (or the end of
  // the copy, three frames on at least); otherwise the stack stays cut short here.
  const uint64_t sp = regs.sp();
  constexpr uint64_t kScan = 8192;  // the leaf's own frame: SHA-512's is ~1.2 KB, aligned to 2 KB
  constexpr int kMaxTries = 8;
  int tries = 0;
  for (uint64_t slot = sp; slot < sp + kScan && tries < kMaxTries; slot += 8) {
    uint64_t v = 0, ret = 0;
    if (!memory.read(slot, &v, sizeof v)) break;  // the copy ended
    if (v <= slot || (v & 7) || v - sp > (1u << 20) || !memory.read(v, &ret, sizeof ret) || !after_call(modules_, ret))
      continue;
    tries++;
    Context ctx{&modules_, &regs, &memory, sp, false, false, v};
    unw_cursor_t cursor;
    if (unw_init_remote(&cursor, static_cast<unw_addr_space_t>(as_), &ctx) < 0) return std::nullopt;
    if (unw_step(&cursor) <= 0) continue;
    UserRegs caller = regs;
    take_regs(cursor, caller);
    if (caller.ip() != ret || caller.sp() != v + 8) continue;  // the CFI did not use the word as a saved sp
    std::vector<profile::Frame> rest;
    // The sampled rbp was data, so the kernel's chain (walked from it) is never spliced in here.
    const EndReason end = walk(caller, memory, 1, Splice{nullptr, 0, sp, 0}, rest);
    // Reached the thread's entry: walked to the end, or into the C library's entry frames (where a
    // frame-pointer walk of node's main thread ends on libc's rbp); or went on through a few frames
    // until the copy ended (an 8 KB copy ends inside uv__io_poll's event array).
    const bool whole = !cut_short(end) || (!rest.empty() && is_c_library(modules_.find(rest.back().addr)));
    if (!whole && !(end == EndReason::kStackShort && rest.size() >= 3)) continue;
    out.insert(out.end(), rest.begin(), rest.end());
    return end;
  }
  return std::nullopt;
}

EndReason HybridUnwinder::unwind(const UserRegs& regs, Memory& memory, std::span<const uint64_t> kernel_user_chain,
                                 std::vector<profile::Frame>& out) {
  const size_t base = out.size();
  auto kernel_chain_to = [&](size_t end) {
    for (size_t i = 0; i < end && out.size() - base < max_depth_; i++)
      if (kernel_user_chain[i]) out.push_back(profile::Frame{i == 0 ? kernel_user_chain[i] : kernel_user_chain[i] - 1, false});
  };
  const size_t chain_size = kernel_user_chain.size();
  const bool chain_matches = chain_size > 0 && kernel_user_chain[0] == regs.ip();
  const Module* leaf = modules_.find(regs.ip());
  if (!regs.valid) {  // no registers to walk from: the kernel's chain is all there is
    kernel_chain_to(chain_size);
    return EndReason::kKernelChain;
  }
  // Fast path: the leaf keeps frame pointers (JIT, builtins, node), so the kernel's walk is right,
  // unless it ended inside code without them, or the leaf is one of the hand-written assembly
  // functions of a binary that otherwise keeps them (OpenSSL's SHA and AES loops in node hold data
  // in rbp: the kernel's walk then starts from a table address, not a frame).
  if (chain_matches && leaf && leaf->fp_trusted) {
    const ChainScan scan = scan_chain(kernel_user_chain);
    const bool from_bad_rbp =
        has_cfi(leaf) && (!plausible_frame_pointer(regs.bp(), regs.sp()) || scan.left_modules);
    if (!from_bad_rbp) {
      UserRegs at;
      if (scan.cut == kNoCut || !regs_at_chain_frame(regs, memory, kernel_user_chain, scan.cut, at)) {
        kernel_chain_to(chain_size);
        return EndReason::kKernelChain;
      }
      // The kernel's frames up to the cut, then on with CFI from the registers the frame-pointer
      // walk recovered there (rip, rsp, rbp: what CFI needs for code that saves what it uses).
      kernel_chain_to(scan.cut);
      rewalked_++;
      return walk(at, memory, scan.cut, Splice{nullptr, 0, regs.sp(), base}, out);
    }
  }
  if (chain_matches && (!leaf || (!has_cfi(leaf) && !leaf->jit))) {
    kernel_chain_to(chain_size);  // no CFI for the leaf: the kernel's walk is all there is
    return EndReason::kKernelChain;
  }
  // libunwind from the sampled registers; back in frame-pointer code with the sampled rbp, the
  // kernel's chain is spliced in.
  const Splice splice{chain_matches && chain_size > 1 ? &kernel_user_chain : nullptr, regs.bp(), regs.sp(), base};
  return walk(regs, memory, 0, splice, out);
}

}  // namespace loopperf::unwind
