#include "loopperf/v8/heap_reader.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bytecode_lines.h"
#include "code_index.h"
#include "frame_candidate.h"
#include "frame_memo.h"
#include "function_names.h"
#include "heap_access.h"
#include "inlined_frames.h"
#include "loopperf/v8/gc_epochs.h"
#include "read_batch.h"
#include "remote_memory.h"

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxFunctionLinks = 1 << 14;  // function_links entries

}  // namespace

// The reader's parts, each in its own file:
// - ReadBatch (read_batch.h): one call's batch of reads, deduplicated;
// - FunctionNames (function_names.*): SharedFunctionInfo -> JsFunction, the ids, the per-SFI and
//   per-Script caches;
// - BytecodeLines (bytecode_lines.*): the current line of an interpreted frame;
// - CodeIndex (code_index.*): the optimized code at a JIT pc, its tables decoded;
// - InlinedFrames (inlined_frames.*): the functions that code inlined where the frame is.
// Here: name_frames(), which drives them level by level, and what it keeps itself: its per-call
// scratch (FrameCandidate, frame_candidate.h) and the guesses that let level 2's reads ride along
// with level 1's.
struct HeapReader::Impl {
  Impl(const Layout& layout, pid_t pid)
      : l(layout),
        batch(pid),
        mem(batch.mem()),
        heap(layout, mem),
        names(layout, mem, heap, calls),
        lines(layout, mem, heap, names),
        codes(layout, mem, heap, calls),
        inlined(layout, pid, batch, codes, names) {}

  const Layout& l;
  ReadBatch batch;
  RemoteMemory& mem;  // batch's
  HeapAccess heap;
  uint64_t calls = 0;  // name_frames() calls

  FunctionNames names;
  BytecodeLines lines;
  CodeIndex codes;
  InlinedFrames inlined;
  FrameMemo memo;

  // Per-call scratch.
  std::vector<FrameCandidate> candidates;
  std::vector<uint32_t> inlined_ids;
  std::vector<uint64_t> function_maps;
  // name_frames() with the memo: per slot its memo entry (nullptr: read), the slots read, what
  // they were named with.
  std::vector<const FrameMemo::Entry*> memo_entries;
  std::vector<FrameSlots> read_slots;
  std::vector<uint32_t> read_slot_index;
  std::vector<NamedFrame> read_named;
  FrameMemo::Learned learned;     // what read_frames() vouched for
  std::vector<uint32_t> derived;  // FrameMemo::derive's answer for one slot
  std::vector<NamedFrame> derived_frames;
  // What each JSFunction met held last time: its map and SharedFunctionInfo (tagged). A hint that
  // lets level 2's reads ride along with level 1's (one read per stack instead of two); a function
  // that moved or changed simply misses.
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> function_links;

  uint32_t function_header_size() const { return l.js_function_shared + 8; }
};

HeapReader::HeapReader(Layout layout, pid_t pid)
    : layout_(std::move(layout)), impl_(std::make_unique<Impl>(layout_, pid)) {}

HeapReader::~HeapReader() = default;

const JsFunction& HeapReader::function(uint32_t id) const { return impl_->names.function(id); }

size_t HeapReader::function_count() const { return impl_->names.function_count(); }

// A program that keeps making code (new Function, eval, a bundler) shows the reader a new
// SharedFunctionInfo, Script and BytecodeArray with nearly every sample: the caches are bounded
// and start again when full (their entries are re-read on the next use; function ids stay).
void HeapReader::bound_caches() {
  Impl& m = *impl_;
  m.names.bound_caches(stats_);
  m.lines.bound_caches(stats_);
  m.codes.bound_caches(stats_);
}

void HeapReader::release_caches() {
  Impl& m = *impl_;
  m.names.release_caches();
  m.lines.release_caches();
  m.candidates = {};
  m.inlined_ids = {};
  m.codes.release_caches();
  m.function_maps = {};
  m.function_links = {};
  m.inlined.release_caches();
  m.memo.clear();
  m.memo_entries = {};
  m.read_slots = {};
  m.read_slot_index = {};
  m.read_named = {};
  m.batch.release_caches();
  m.heap.clear_cache();
}

void HeapReader::forget_thread(pid_t tid) { impl_->memo.forget(tid); }

// The memo's rule: a frame is named from it when the sample was taken in the same collection epoch
// of its thread as the read that named it, and no collection began during that read (the epoch
// before and after it is the sample's). The caller gives `at` only for samples taken outside a
// collection (StackNamer). Everything else is read as without a memo.
void HeapReader::name_frames(std::span<const FrameSlots> slots, std::vector<NamedFrame>& out,
                             const SampleMoment* at) {
  Impl& m = *impl_;
  std::optional<uint64_t> epoch;
  if (epochs_ != nullptr && at != nullptr) epoch = epochs_->epoch_at(at->tid, at->time_ns);
  FrameMemo::Thread* memo = epoch ? m.memo.at(at->tid, *epoch, stats_) : nullptr;
  if (memo == nullptr) {
    read_frames(slots, out);
    return;
  }
  m.memo_entries.assign(slots.size(), nullptr);
  m.read_slots.clear();
  m.read_slot_index.clear();
  m.derived_frames.clear();
  for (uint32_t i = 0; i < slots.size(); ++i) {
    m.memo_entries[i] = m.memo.find(*memo, FrameMemo::key_of(slots[i]));
    if (m.memo_entries[i] != nullptr) continue;
    if (m.memo.derive(*memo, slots[i], layout_, m.codes, m.derived)) {
      for (uint32_t id : m.derived) m.derived_frames.push_back(NamedFrame{i, id, 0});
      continue;
    }
    m.read_slots.push_back(slots[i]);
    m.read_slot_index.push_back(i);
  }
  m.read_named.clear();
  bool store = false;
  if (!m.read_slots.empty()) {
    const std::optional<uint64_t> before = epochs_->epoch_now(at->tid);
    read_frames(m.read_slots, m.read_named);
    const std::optional<uint64_t> after = epochs_->epoch_now(at->tid);
    store = before == epoch && after == epoch;
  }
  // In the order of `slots`: the memo's frames, the derived ones, and the read ones with their
  // index mapped back.
  size_t next_read = 0, next_derived = 0;
  for (uint32_t i = 0; i < slots.size(); ++i) {
    if (next_derived < m.derived_frames.size() && m.derived_frames[next_derived].slot == i) {
      stats_.frames++;
      stats_.named++;
      stats_.derived++;
      while (next_derived < m.derived_frames.size() && m.derived_frames[next_derived].slot == i) {
        out.push_back(m.derived_frames[next_derived++]);
        if (next_derived < m.derived_frames.size() && m.derived_frames[next_derived].slot == i) stats_.inlined++;
      }
      continue;
    }
    if (const FrameMemo::Entry* e = m.memo_entries[i]) {
      stats_.frames++;
      stats_.named++;
      stats_.memo_hits++;
      if (e->line > 0) stats_.lines++;
      stats_.inlined += e->count - 1;
      std::span<const uint32_t> ids = m.memo.ids(*memo, *e);
      for (size_t k = 0; k < ids.size(); ++k)
        out.push_back(NamedFrame{i, ids[k], k + 1 == ids.size() ? e->line : 0});
      continue;
    }
    // Slot i is read_slots[r] for the r with read_slot_index[r] == i.
    while (next_read < m.read_named.size() && m.read_slot_index[m.read_named[next_read].slot] == i) {
      NamedFrame f = m.read_named[next_read++];
      f.slot = i;
      out.push_back(f);
    }
  }
  // Remembered after the output is made: a store may empty the memo (its bound), and with it the
  // entries used above. One slot's frames are consecutive (innermost first).
  for (size_t k = 0; k < m.derived_frames.size();) {
    size_t e = k;
    while (e < m.derived_frames.size() && m.derived_frames[e].slot == m.derived_frames[k].slot) e++;
    m.memo.store(*memo, FrameMemo::key_of(slots[m.derived_frames[k].slot]),
                 std::span(m.derived_frames).subspan(k, e - k), stats_);
    k = e;
  }
  if (!store) return;
  m.memo.learn(*memo, m.learned, stats_);
  for (size_t k = 0; k < m.read_named.size();) {
    size_t e = k;
    while (e < m.read_named.size() && m.read_named[e].slot == m.read_named[k].slot) e++;
    const FrameSlots& s = m.read_slots[m.read_named[k].slot];
    // An interpreted frame without its line may get it later (V8 collects source positions
    // lazily): not remembered.
    const bool interpreted = layout_.in_builtins(s.pc);
    if (!(interpreted && m.read_named[e - 1].line == 0))
      m.memo.store(*memo, FrameMemo::key_of(s), std::span(m.read_named).subspan(k, e - k), stats_);
    k = e;
  }
}

void HeapReader::read_frames(std::span<const FrameSlots> slots, std::vector<NamedFrame>& out) {
  Impl& m = *impl_;
  const Layout& l = layout_;
  bound_caches();
  const uint64_t calls_before = m.mem.calls(), aux_before = m.inlined.aux_calls();
  m.calls++;
  m.learned.clear();
  m.candidates.clear();
  m.mem.clear();
  // Per frame: its function and bytecode array, the guessed map and SharedFunctionInfo, five code
  // checks and (usually a few) the guessed inlined functions' headers.
  m.batch.reset_queued(12 * slots.size());

  // Level 1: the JSFunction in each frame's function slot (and, for interpreted frames, the bytecode
  // array's header), all in one read.
  for (uint32_t i = 0; i < slots.size(); ++i) {
    const FrameSlots& s = slots[i];
    stats_.frames++;
    // A Smi in the context slot is a typed frame's marker (entry, exit, stub, internal ...).
    if (is_smi(s.context_or_marker) || !is_heap_object(s.function) ||
        !RemoteMemory::plausible(untag(s.function), m.function_header_size())) {
      stats_.not_js++;
      continue;
    }
    FrameCandidate c;
    c.slot = i;
    c.pc = s.pc;
    c.pc_after_scan = s.pc_after_scan;
    c.leaf = s.leaf;
    c.function = s.function;
    c.function_read = m.batch.add_once(untag(s.function), m.function_header_size());
    if (s.leaf) c.leaf_code_read = m.batch.add_once(s.pc, 3);
    if (auto link = m.function_links.find(s.function); link != m.function_links.end()) {
      c.guessed_map = link->second.first;
      c.guessed_sfi = link->second.second;
      c.guessed_map_read = m.batch.add_once(untag(c.guessed_map) + l.map_instance_type, 2);
      c.guessed_sfi_read = m.batch.add_once(untag(c.guessed_sfi), m.names.sfi_header_size());
    }
    // Interpreted frames run in the builtins (InterpreterEntryTrampoline, bytecode handlers); their
    // bytecode offset slot holds a Smi relative to the array's tagged address. Optimized code that
    // took over an interpreter frame (OSR) runs elsewhere and its slots are not current.
    const bool in_builtins = l.in_builtins(s.pc);
    if (in_builtins && is_heap_object(s.bytecode_array) && is_smi(s.bytecode_offset)) {
      const int64_t offset = int64_t{smi_value(s.bytecode_offset)} - (int64_t{l.bytecode_array_data} - 1);
      if (offset >= 0 && offset < BytecodeLines::kMaxBytecodeLength) {
        c.bytecode_array = s.bytecode_array;
        c.bytecode_offset = static_cast<int32_t>(offset);
        // An entry that its SharedFunctionInfo vouched for needs no header (checked after level 2).
        if (m.lines.needs_header(s.bytecode_array)) {
          c.bytecode_read = m.batch.add_once(untag(s.bytecode_array), m.lines.bytecode_header_size());
        }
      }
    }
    m.candidates.push_back(c);
  }
  if (m.candidates.empty()) return;
  // The code checks depend on the pcs alone: they go with level 1.
  if (l.inlining) m.inlined.queue_code_checks(m.candidates);
  m.mem.run();

  // Level 2: each function's map (its instance type says JSFunction or not) and its
  // SharedFunctionInfo's header.
  m.batch.reset_queued(7 * m.candidates.size());  // function map, SharedFunctionInfo, five code checks
  std::vector<uint64_t>& function_maps = m.function_maps;
  function_maps.assign(m.candidates.size(), 0);
  for (size_t k = 0; k < m.candidates.size(); ++k) {
    FrameCandidate& c = m.candidates[k];
    if (!m.mem.ok(c.function_read)) continue;
    if (c.leaf_code_read != RemoteMemory::kNone && !frame_built(m.mem, c.leaf_code_read)) {
      stats_.leaf_rejected++;
      c.function_read = RemoteMemory::kNone;  // not named, and not counted as a failed read
      continue;
    }
    const uint64_t map = m.mem.u64(c.function_read, l.map);
    c.sfi = m.mem.u64(c.function_read, l.js_function_shared);
    if (!is_heap_object(map)) continue;
    function_maps[k] = map;
    if (map == c.guessed_map && c.sfi == c.guessed_sfi) {
      c.map_read = c.guessed_map_read;
      c.sfi_read = c.guessed_sfi_read;
      continue;
    }
    c.map_read = m.batch.add_once(untag(map) + l.map_instance_type, 2);
    if (is_heap_object(c.sfi)) c.sfi_read = m.batch.add_once(untag(c.sfi), m.names.sfi_header_size());
    if (m.function_links.size() >= kMaxFunctionLinks) m.function_links.clear();
    m.function_links[c.function] = {map, c.sfi};
  }
  // Level 1's ranges keep their data: run() reads only the new ones (none when every guess held).
  m.mem.run();

  for (size_t k = 0; k < m.candidates.size(); ++k) {
    FrameCandidate& c = m.candidates[k];
    if (c.function_read == RemoteMemory::kNone) continue;  // a leaf rejected above
    if (!m.mem.ok(c.function_read)) {
      stats_.read_failed++;
      continue;
    }
    if (function_maps[k] == 0) {
      stats_.not_js++;
      continue;
    }
    if (!m.mem.ok(c.map_read)) {
      stats_.read_failed++;
      continue;
    }
    if (!m.heap.is_js_function_type(m.mem.u16(c.map_read, 0))) {
      stats_.not_js++;
      continue;
    }
    if (!is_heap_object(c.sfi)) {
      stats_.invalid++;
      continue;
    }
    if (!m.mem.ok(c.sfi_read)) {
      stats_.read_failed++;
      continue;
    }
    const uint64_t sfi_map = m.mem.u64(c.sfi_read, l.map);
    const uint64_t function_data = m.mem.u64(c.sfi_read, l.sfi_function_data);
    const uint64_t name_or_scope_info = m.mem.u64(c.sfi_read, l.sfi_name_or_scope_info);
    const uint64_t script = m.mem.u64(c.sfi_read, l.sfi_script);
    auto sfi_type = m.heap.map_type(sfi_map);
    if (!sfi_type || *sfi_type != l.shared_function_info_type) {
      stats_.invalid++;
      continue;
    }
    uint32_t id = 0;
    const FunctionNames::SfiEntry* entry = m.names.cached(c.sfi);
    if (entry != nullptr && entry->map == sfi_map && entry->function_data == function_data &&
        entry->name_or_scope_info == name_or_scope_info && entry->script == script &&
        (entry->whole || m.calls < entry->retry_at)) {
      id = entry->id;
      if (id != 0) stats_.cache_hits++;
    } else {
      id = m.names.resolve_function(c.sfi, sfi_map, function_data, name_or_scope_info, script);
      entry = m.names.cached(c.sfi);
    }
    if (id == 0) {
      stats_.invalid++;
      continue;
    }
    int32_t line = 0;
    if (c.bytecode_array != 0 && entry != nullptr) line = m.lines.current_line(c, *entry, function_data);
    if (line > 0) stats_.lines++;
    c.id = id;
    c.line = line;
    stats_.named++;
  }
  m.inlined_ids.clear();
  if (l.inlining) m.inlined.expand_inlined(m.candidates, m.inlined_ids, m.learned, stats_);
  m.inlined.clear_checks();
  for (const FrameCandidate& c : m.candidates) {
    if (c.id == 0) continue;
    m.learned.functions.emplace_back(c.function, c.id);
    for (uint32_t k = c.inlined_begin; k < c.inlined_end; ++k)
      out.push_back(NamedFrame{c.slot, m.inlined_ids[k], 0});
    out.push_back(NamedFrame{c.slot, c.id, c.line});
  }
  stats_.reads += m.mem.calls() + m.inlined.aux_calls() - calls_before - aux_before;
}

}  // namespace loopperf::v8
