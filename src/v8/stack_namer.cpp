#include "loopperf/v8/stack_namer.h"

#include <sys/uio.h>

#include <algorithm>
#include <array>

#include "loopperf/common/duration.h"
#include "loopperf/symbols/elf_symbolizer.h"

namespace loopperf::v8 {

namespace {
// How far the frame list may run ahead of the frame-pointer chain: frames of code without frame
// pointers (glibc, CFI-unwound) have no record of their own in the chain.
constexpr size_t kResync = 16;
constexpr size_t kMaxRecords = 1024;
constexpr int kMaxResyncs = 8;
constexpr uint64_t kScanBytes = 16384;  // how far up the stack copy a saved return address is looked for
}  // namespace

Result<std::unique_ptr<StackNamer>> StackNamer::create(pid_t pid, symbols::ElfFile& exe,
                                                       std::shared_ptr<process::TargetFiles> files) {
  auto layout = load_layout(exe);
  if (!layout) return layout.error();
  auto reader = std::make_unique<HeapReader>(std::move(layout.value()), pid);
  return std::unique_ptr<StackNamer>(new StackNamer(std::move(reader), std::move(files), exe));
}

Result<std::unique_ptr<StackNamer>> StackNamer::create(symbols::ProcessSymbolizer& symbolizer, const std::string& v8_path,
                                                       std::shared_ptr<process::TargetFiles> files) {
  symbols::ElfFile* elf = symbolizer.elf_for(v8_path);
  if (elf == nullptr) return make_error(ErrorCode::kInternal, "cannot read " + v8_path, "");
  const pid_t pid = files->pid();
  return create(pid, *elf, std::move(files));
}

std::string v8_binary(const process::TargetFiles& files, const std::string& exe) {
  std::string lib = process::libnode_path(files.maps());
  return lib.empty() ? exe : lib;
}

StackNamer::StackNamer(std::unique_ptr<HeapReader> reader, std::shared_ptr<process::TargetFiles> files,
                       symbols::ElfFile& exe)
    : reader_(std::move(reader)), files_(std::move(files)), exe_(exe), pid_(files_->pid()) {}

StackNamer::~StackNamer() = default;

void StackNamer::prepare() {
  const Layout& l = reader_->layout();
  if (l.builtins_start) exe_.lookup(l.builtins_start);  // builds the symbol table code_at() searches
}

StackNamer::Code StackNamer::code_at(uint64_t pc, uint64_t* reader_pc) {
  if (reader_pc) *reader_pc = pc;
  const process::MapEntry* m = process::find_map(files_->maps(), pc);
  if (m == nullptr || !m->executable) return Code::kOther;
  if (!m->is_file_backed()) {
    // V8's code space: anonymous executable memory.
    return m->path.empty() || m->path.starts_with("[anon:") ? Code::kJit : Code::kOther;
  }
  // The node binary, mapped where the loader put it or a second time by V8 near its code range (the
  // embedded builtins, for short calls from JIT code): either way the file offset gives the vaddr.
  if (m->clean_path_view() != exe_.path()) return Code::kOther;
  const uint64_t vaddr = exe_.file_offset_to_vaddr(m->offset) + (pc - m->start);
  if (reader_pc) *reader_pc = vaddr;
  if (vaddr < reader_->layout().builtins_start || vaddr >= reader_->layout().builtins_end) return Code::kOther;
  auto it = builtin_kind_.find(vaddr);
  if (it != builtin_kind_.end()) return it->second;
  symbols::ElfSymbol sym = exe_.lookup(vaddr);
  Code kind = Code::kBuiltin;
  if (sym.found && !sym.frames.empty()) {
    const std::string& n = sym.frames.back().system_name;
    // The interpreter's entry and its bytecode handlers run in the interpreted function's frame.
    if (n.starts_with("Builtins_Interpreter") || (n.starts_with("Builtins_") && n.ends_with("Handler")))
      kind = Code::kInterpreter;
  }
  if (builtin_kind_.size() < 100'000) builtin_kind_.emplace(vaddr, kind);
  return kind;
}

// Whether the stack runs Heap::PerformGarbageCollection (objects may be moving): true also when
// that cannot be told (the function's place is not known yet).
bool StackNamer::inside_gc(const std::vector<profile::Frame>& frames, size_t u0) {
  if (gc_lo_ == 0) {
    const Layout& l = reader_->layout();
    if (l.gc_begin == 0) return true;
    const uint64_t offset = exe_.vaddr_to_file_offset(l.gc_begin);
    for (const process::MapEntry& m : files_->maps()) {
      if (!m.executable || offset < m.offset || offset - m.offset >= m.end - m.start) continue;
      if (m.clean_path_view() != exe_.path()) continue;
      gc_lo_ = m.start + (offset - m.offset);
      gc_hi_ = gc_lo_ + l.gc_size;
      break;
    }
    if (gc_lo_ == 0) return true;
  }
  for (size_t i = u0; i < frames.size(); i++)
    if (frames[i].addr >= gc_lo_ && frames[i].addr < gc_hi_) return true;
  return false;
}

// The lowest address >= from (8-aligned) in the sample's stack copy holding `value`; 0 when none
// within kScanBytes. Only the copy: scanning the live stack would cost a read per word.
uint64_t StackNamer::find_word(unwind::Memory& stack, uint64_t from, uint64_t value) {
  from = (from + 7) & ~uint64_t{7};
  uint64_t buf[64];
  for (uint64_t at = from; at < from + kScanBytes; at += sizeof buf) {
    if (!stack.read(at, buf, sizeof buf)) {
      // The copy may end within this block: word by word to its end.
      for (uint64_t a = at; a < at + sizeof buf; a += 8) {
        uint64_t w;
        if (!stack.read(a, &w, 8)) return 0;
        if (w == value) return a;
      }
      return 0;
    }
    for (size_t i = 0; i < 64; i++)
      if (buf[i] == value) return at + i * 8;
  }
  return 0;
}

// A frameless builtin leaf's return address into the JIT code that called it: the first word up
// from sp that points into code. Between sp and the caller's fp lie only what the builtin pushed
// (tagged values, raw numbers, its own saved registers), the return address, and the caller's
// outgoing arguments and spill slots; code addresses there are return addresses. A first one in
// other code (the builtin was called by another builtin, or by the interpreter) gives nothing.
uint64_t StackNamer::caller_return(unwind::Memory& stack, uint64_t sp, uint64_t fp) {
  constexpr uint64_t kMaxWords = 32;
  const uint64_t end = std::min(fp, sp + 8 * kMaxWords);
  for (uint64_t at = sp; at + 8 <= end; at += 8) {
    uint64_t w;
    if (!stack.read(at, &w, 8)) return 0;
    if (w < 0x10000) continue;
    uint64_t unused;
    switch (code_at(w - 1, &unused)) {
      case Code::kJit: return w;
      case Code::kOther: continue;
      default: return 0;
    }
  }
  return 0;
}

// Reads the words [fp + lowest slot, fp + 16): the frame's slots, its saved fp and return address.
// out[0..3]: context, function, bytecode array, bytecode offset (as laid out), out[5] saved fp,
// out[6] return address. From the stack copy; beyond it, from the live stack when allowed.
bool StackNamer::read_record(uint64_t fp, unwind::Memory& stack, bool live, uint64_t out[7]) {
  const Layout& l = reader_->layout();
  const int64_t lo = std::min({l.fp_context, l.fp_function, l.fp_bytecode_array, l.fp_bytecode_offset, int64_t{0}});
  const size_t n = static_cast<size_t>(16 - lo);
  if (n > 256 || fp < static_cast<uint64_t>(-lo)) return false;
  uint64_t buf[32] = {};
  const uint64_t base = fp + lo;
  if (!stack.read(base, buf, n)) {
    if (stack.read(fp, &buf[-lo / 8], 16)) {
      // The record is in the copy, some slots are not: they lie below the sampled sp (a native
      // leaf's own frame, whose slots are not V8's anyway). Each word the copy has, the rest 0.
      for (int64_t off = lo; off < 0; off += 8) (void)stack.read(fp + off, &buf[(off - lo) / 8], 8);
    } else {
      if (!live) return false;
      struct iovec local{buf, n}, remote{reinterpret_cast<void*>(base), n};
      live_reads_++;
      if (process_vm_readv(pid_, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n)) return false;
    }
  }
  auto word = [&](int64_t off) { return buf[(off - lo) / 8]; };
  out[0] = word(l.fp_context);
  out[1] = word(l.fp_function);
  out[2] = word(l.fp_bytecode_array);
  out[3] = word(l.fp_bytecode_offset);
  out[5] = word(0);
  out[6] = word(8);
  return true;
}

void StackNamer::name(std::vector<profile::Frame>& frames, const unwind::UserRegs& regs, unwind::Memory& stack,
                      bool live, const SampleMoment* at) {
  const uint64_t start = monotonic_ns();
  if (!budget_.allow(start)) return;
  name_stack(frames, regs, stack, live, at);
  budget_.charge(monotonic_ns() - start);
}

void StackNamer::name_stack(std::vector<profile::Frame>& frames, const unwind::UserRegs& regs, unwind::Memory& stack,
                            bool live, const SampleMoment* at) {
  const uint64_t live_reads_before = live_reads_;
  size_t u0 = 0;
  while (u0 < frames.size() && frames[u0].kernel) u0++;
  if (u0 >= frames.size() || !regs.valid) return;
  const size_t n = frames.size();
  fps_.assign(n, 0);
  slots_.clear();
  slot_frame_.clear();
  slot_insert_.clear();
  record_slots_.assign(n, {});
  auto& record_slots = record_slots_;

  // Match the frame-pointer chain against the frames: the record at fp whose saved return address
  // returns into frames[k] belongs to frames[k-1], the function that set up fp. Where the chain
  // breaks (native code that uses rbp as a register, a live read that no longer matches), it is
  // picked up again at the next frame's saved return address in the stack copy: the record of the
  // function it returns from sits just below it.
  uint64_t fp = regs.bp();
  size_t k = u0 + 1;
  uint64_t scan_from = regs.sp();
  uint64_t rec[7];
  int resyncs = 0;
  for (size_t steps = 0; steps < kMaxRecords && k < n; steps++) {
    size_t match = n;
    if (fp != 0 && fp % 8 == 0 && fp >= scan_from && read_record(fp, stack, live, rec)) {
      for (size_t j = k; j < n && j < k + kResync; j++) {
        if (!frames[j].kernel && frames[j].addr + 1 == rec[6]) {
          match = j;
          break;
        }
      }
    }
    if (match == n) {
      if (++resyncs > kMaxResyncs) break;
      const uint64_t at = find_word(stack, scan_from, frames[k].addr + 1);
      if (at == 0) break;
      if (at < scan_from + 8) {
        // The return address at sp itself: the leaf built no frame (a syscall wrapper, a stub), so
        // there is no record below it. Go on from the next frame's return address.
        k++;
        scan_from = at + 8;
        fp = 0;
        continue;
      }
      fp = at - 8;
      continue;
    }
    fps_[match - 1] = fp;
    record_slots[match - 1] = {rec[0], rec[1], rec[2], rec[3]};
    k = match + 1;
    scan_from = fp + 16;
    fp = rec[5];  // checked against scan_from above: the chain must go up the stack
  }

  for (size_t i = u0; i < n; i++) {
    if (fps_[i] == 0) continue;
    const bool leaf = i == u0;
    uint64_t reader_pc = 0;
    Code code = code_at(frames[i].addr, &reader_pc);
    bool insert = false, leaf_jit = false;
    if (leaf) {
      if (code == Code::kOther) continue;
      if (code == Code::kInterpreter || code == Code::kBuiltin) {
        // A frameless builtin (bytecode handler, stub) runs for the JS frame at fp: insert it.
        insert = true;
      } else if (u0 == 0) {
        // A JIT leaf sampled in its own code. Its frame is not built (or is torn down) as far as the
        // registers tell when sp is above the function slot (after `mov rbp, rsp` until the function
        // is pushed, and from `mov rsp, rbp` on); the code at pc tells the rest (FrameSlots::leaf).
        if (regs.sp() > fps_[i] + reader_->layout().fp_function) {
          leaf_rejected_++;
          continue;
        }
        leaf_jit = true;
      }
    } else if (code != Code::kJit && code != Code::kInterpreter) {
      continue;  // other builtins keep their ELF names; C++ frames' slots are not V8's
    }
    FrameSlots s;
    s.pc = reader_pc;
    s.leaf = leaf_jit;
    if (insert && code == Code::kBuiltin) {
      // The frame at fp called the builtin: where it will return to, when found, places the frame
      // in its code (for the functions inlined at that call).
      if (const uint64_t ret = caller_return(stack, regs.sp(), fps_[i]); ret != 0) {
        s.pc = ret - 1;
        s.pc_after_scan = true;
      }
    }
    s.fp = fps_[i];
    s.context_or_marker = record_slots[i][0];
    s.function = record_slots[i][1];
    s.bytecode_array = record_slots[i][2];
    s.bytecode_offset = record_slots[i][3];
    slots_.push_back(s);
    slot_frame_.push_back(static_cast<uint32_t>(i));
    slot_insert_.push_back(insert);
  }
  if (slots_.empty()) return;
  named_.clear();
  // The memo is for samples taken outside a collection (gc_epochs.h), whose slots all come from
  // the sample (slots read from the live stack are of a later moment).
  const bool memo = at != nullptr && live_reads_ == live_reads_before && !inside_gc(frames, u0);
  reader_->name_frames(slots_, named_, memo ? at : nullptr);
  if (named_.empty()) return;

  // Rebuild: a named frame becomes its function (and the functions its code inlined, innermost
  // first, same address); an inserted frame goes above the leaf it runs.
  out_.clear();
  size_t next = 0;
  for (size_t i = 0; i < n; i++) {
    size_t first = next;
    while (next < named_.size() && slot_frame_[named_[next].slot] == i) next++;
    if (first == next) {
      out_.push_back(frames[i]);
      continue;
    }
    const bool insert = slot_insert_[named_[first].slot];
    if (insert) {
      // Not a builtin's own JS frame (Array.prototype.map's: no script, not eval code): it would
      // repeat the builtin under its JS name.
      const JsFunction& fn = reader_->function(named_[next - 1].function);
      out_.push_back(frames[i]);
      if (fn.script.empty() && fn.kind != JsFunction::Kind::kEval) continue;
      inserted_++;
    }
    for (size_t j = first; j < next; j++) {
      profile::Frame f = frames[i];
      f.js = (named_[j].function << 1) | (j + 1 < next ? 1u : 0u);
      out_.push_back(f);
    }
  }
  frames.swap(out_);
}

bool StackNamer::js_frame(uint32_t id, symbols::JsFrameName& out) const {
  const uint32_t fn_id = id >> 1;
  if (fn_id == 0 || fn_id > reader_->function_count()) return false;
  const JsFunction& fn = reader_->function(fn_id);
  const std::string name = fn.name.empty() ? "(anonymous)" : fn.name;
  out.frame.name = name;
  out.frame.file = fn.script;
  out.frame.line = fn.line;
  out.frame.column = fn.column;
  out.frame.system_name = "JS:" + fn.name + " " + fn.script + ":" + std::to_string(fn.line) + ":" + std::to_string(fn.column);
  out.eval = fn.kind == JsFunction::Kind::kEval;
  out.inlined = (id & 1) != 0;
  return true;
}

std::vector<std::pair<std::string, std::string>> StackNamer::details() const {
  const HeapReader::Stats& s = reader_->stats();
  const Layout& l = reader_->layout();
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("js_heap.v8", l.version.str());
  d.emplace_back("js_heap.layout_derived", std::to_string(l.derived.size()));
  d.emplace_back("js_heap.frames", std::to_string(s.frames));
  d.emplace_back("js_heap.named", std::to_string(s.named));
  d.emplace_back("js_heap.not_js", std::to_string(s.not_js));
  d.emplace_back("js_heap.invalid", std::to_string(s.invalid));
  d.emplace_back("js_heap.read_failed", std::to_string(s.read_failed));
  d.emplace_back("js_heap.reads", std::to_string(s.reads));
  d.emplace_back("js_heap.memo_hits", std::to_string(s.memo_hits));
  d.emplace_back("js_heap.derived", std::to_string(s.derived));
  d.emplace_back("js_heap.memo_resets", std::to_string(s.memo_resets));
  d.emplace_back("js_heap.functions", std::to_string(reader_->function_count()));
  d.emplace_back("js_heap.cache_resets", std::to_string(s.cache_resets));
  d.emplace_back("js_heap.inlined", std::to_string(s.inlined));
  d.emplace_back("js_heap.inserted", std::to_string(inserted_));
  d.emplace_back("js_heap.leaf_rejected", std::to_string(leaf_rejected_ + s.leaf_rejected));
  d.emplace_back("js_heap.live_reads", std::to_string(live_reads_));
  d.emplace_back("js_heap.over_budget", std::to_string(budget_.refused()));
  d.emplace_back("js_heap.time_ms", std::to_string(budget_.spent_ns() / 1'000'000));
  return d;
}

}  // namespace loopperf::v8
