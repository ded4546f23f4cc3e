#include "inlined_frames.h"

namespace loopperf::v8 {

namespace {

// Bounds on what the target can make us read or keep; all of its lengths are untrusted.
constexpr size_t kMaxInlineLinks = 1 << 14;  // inline_links entries

}  // namespace

void InlinedFrames::queue_code_checks(const std::vector<FrameCandidate>& candidates) {
  const Layout& l = layout_;
  code_checks_.clear();
  inline_guess_reads_.clear();
  for (size_t k = 0; k < candidates.size(); ++k) {
    const FrameCandidate& c = candidates[k];
    if (l.in_builtins(c.pc) || c.pc < 6) continue;
    CodeIndex::CodeEntry* e = codes_.code_at(c.pc);
    if (e == nullptr) continue;
    CodeCheck p{k, e->start, 0, 0, RemoteMemory::kNone, RemoteMemory::kNone, RemoteMemory::kNone};
    p.istream = batch_.add_once(e->start - l.instruction_stream_header, l.instruction_stream_code + 8);
    p.code = batch_.add_once(untag(e->code), codes_.code_header_size());
    if (e->literals != 0) {
      p.slot = batch_.add_once(untag(e->deopt) + l.fixed_array_data + 8 * l.deopt_literal_array_index, 8);
      p.literals = batch_.add_once(untag(e->literals) + l.fixed_array_data, 8 * uint32_t(e->max_literal + 1));
      p.bytes = batch_.add_once(c.pc - 5, 6);
      if (auto link = inline_links_.find(c.pc); link != inline_links_.end()) {
        p.guess_begin = static_cast<uint32_t>(inline_guess_reads_.size());
        for (uint64_t sfi : link->second)
          inline_guess_reads_.push_back(batch_.add_once(untag(sfi), names_.sfi_header_size()));
        p.guess_end = static_cast<uint32_t>(inline_guess_reads_.size());
      }
    }
    code_checks_.push_back(p);
  }
}

// After level 2: for each named candidate at a JIT pc after a call, the functions its optimized
// code inlined there, innermost first (into inlined_ids); their SharedFunctionInfos' headers take
// one more batched read. Anything that does not read back as cached leaves the frame with its
// outermost function only.
void InlinedFrames::expand_inlined(std::vector<FrameCandidate>& candidates, std::vector<uint32_t>& inlined_ids,
                                   FrameMemo::Learned& learned, HeapReader::Stats& stats) {
  const Layout& l = layout_;
  if (code_checks_.empty()) return;
  aux_.clear();
  RemoteMemory& batch = batch_.mem();
  struct Chain {
    size_t candidate;
    uint64_t start;  // the code entry's
    uint32_t guess_begin, guess_end;
    std::vector<int32_t> literals;  // their literal indices
    std::vector<uint64_t> sfis;
    std::vector<size_t> reads;
    bool guessed = false;  // reads are level 1's (batch), not aux's
  };
  std::vector<Chain> chains;
  std::vector<uint64_t> stale;
  for (const CodeCheck& p : code_checks_) {
    FrameCandidate& c = candidates[p.candidate];
    if (c.id == 0) continue;
    const CodeIndex::CodeEntry* found = codes_.find(p.start);
    if (found == nullptr) continue;
    const CodeIndex::CodeEntry& e = *found;
    if (e.literals == 0) {
      if (!batch.ok(p.istream) || !batch.ok(p.code) || batch.u64(p.istream, l.map) != codes_.istream_map() ||
          batch.u64(p.istream, l.instruction_stream_code) != e.code ||
          word_at(batch.data(p.code), l.code_instruction_start) != e.start ||
          u32_at(batch.data(p.code), l.code_flags) != e.flags) {
        stale.push_back(e.start);
      } else {
        learned.codes.push_back(e.start);
      }
      continue;
    }
    if (!batch.ok(p.istream) || !batch.ok(p.code) || !batch.ok(p.slot) || !batch.ok(p.literals) ||
        !batch.ok(p.bytes))
      continue;
    const uint8_t* code = batch.data(p.code);
    if (batch.u64(p.istream, l.map) != codes_.istream_map() ||
        batch.u64(p.istream, l.instruction_stream_code) != e.code || word_at(code, l.map) != e.code_map ||
        word_at(code, l.code_instruction_start) != e.start ||
        u32_at(code, l.code_instruction_size) != e.end - e.start || u32_at(code, l.code_flags) != e.flags ||
        word_at(code, l.code_deoptimization_data) != e.deopt ||
        word_at(code, l.code_position_table) != e.table || batch.u64(p.slot, 0) != e.literals) {
      stats.invalid++;
      stale.push_back(e.start);  // looked up again next time
      continue;
    }
    learned.codes.push_back(e.start);
    const InliningAt at = inlining_at(e, static_cast<int32_t>(c.pc - e.start));
    if (at.id == 0) continue;
    // At a call the last position is the call's. Elsewhere (a leaf in straight code) only when the
    // positions on both sides belong to the same inlined function: code between two of its calls
    // is taken as its own. (V8's profiler takes the last position before the pc in every case.) A
    // return address the frame chain vouched for follows a call; one found by scanning, or a
    // leaf's pc, is looked at.
    const bool call = (!c.leaf && !c.pc_after_scan) || after_call(batch.data(p.bytes));
    if (!call && (c.pc_after_scan || at.next != at.id)) continue;
    Chain chain{p.candidate, e.start, p.guess_begin, p.guess_end, {}, {}, {}};
    bool ok = inlined_literals(e, at.id, chain.literals);
    for (size_t k = 0; ok && k < chain.literals.size(); ++k) {
      uint64_t sfi = batch.u64(p.literals, 8 * static_cast<uint32_t>(chain.literals[k]));
      if ((sfi & 3) == 3) sfi &= ~uint64_t{2};  // a weak reference
      if (!is_heap_object(sfi) || !RemoteMemory::plausible(untag(sfi), names_.sfi_header_size())) ok = false;
      chain.sfis.push_back(sfi);
    }
    if (ok) chains.push_back(std::move(chain));
  }
  for (uint64_t start : stale) codes_.forget(start);
  if (chains.empty()) return;
  // The SharedFunctionInfos' headers: read with level 1 where the chain is the one met at this pc
  // last time, else in one more batch (aux keeps the first's data).
  for (Chain& ch : chains) {
    const uint64_t pc = candidates[ch.candidate].pc;
    auto link = inline_links_.find(pc);
    if (link != inline_links_.end() && link->second == ch.sfis &&
        ch.guess_end - ch.guess_begin == ch.sfis.size()) {
      ch.guessed = true;
      ch.reads.assign(inline_guess_reads_.begin() + ch.guess_begin,
                      inline_guess_reads_.begin() + ch.guess_end);
      continue;
    }
    for (uint64_t sfi : ch.sfis) ch.reads.push_back(aux_.add(untag(sfi), names_.sfi_header_size()));
  }
  aux_.run();
  for (Chain& ch : chains) {
    RemoteMemory& from = ch.guessed ? batch : aux_;
    std::vector<uint32_t> ids;
    for (size_t k = 0; k < ch.sfis.size(); ++k) {
      const uint32_t id =
          from.ok(ch.reads[k]) ? names_.name_sfi(ch.sfis[k], from.data(ch.reads[k]), stats) : 0;
      if (id == 0) {
        ids.clear();
        break;
      }
      ids.push_back(id);
    }
    if (ids.empty()) continue;
    FrameCandidate& c = candidates[ch.candidate];
    for (size_t k = 0; k < ids.size(); ++k) learned.literals.push_back({ch.start, ch.literals[k], ids[k]});
    if (!ch.guessed) {
      if (inline_links_.size() >= kMaxInlineLinks) inline_links_.clear();
      inline_links_[c.pc] = ch.sfis;
    }
    c.inlined_begin = static_cast<uint32_t>(inlined_ids.size());
    inlined_ids.insert(inlined_ids.end(), ids.begin(), ids.end());
    c.inlined_end = static_cast<uint32_t>(inlined_ids.size());
    stats.inlined += ids.size();
  }
}

}  // namespace loopperf::v8
