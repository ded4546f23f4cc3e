// The batch of reads of one HeapReader::name_frames() call: the RemoteMemory that its levels queue
// their reads into and read with one process_vm_readv each (RemoteMemory::run), and a table that
// deduplicates the reads queued in the call by (address, length). The reader's synchronous reads
// (names, tables, code scans) go through the same RemoteMemory: its calls() count every read the
// reader makes but those of the inlining pass's own batches (InlinedFrames).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "remote_memory.h"

namespace loopperf::v8 {

class ReadBatch {
 public:
  explicit ReadBatch(pid_t pid) : mem_(pid) {}
  ReadBatch(const ReadBatch&) = delete;
  ReadBatch& operator=(const ReadBatch&) = delete;

  RemoteMemory& mem() { return mem_; }

  void reset_queued(size_t expected) {
    size_t cap = 64;
    while (cap < expected * 2) cap *= 2;
    if (queued_keys_.size() < cap) {
      queued_keys_.resize(cap);
      queued_reads_.resize(cap);
    }
    queued_mask_ = cap - 1;
    queued_count_ = 0;
    std::fill(queued_keys_.begin(), queued_keys_.begin() + static_cast<ptrdiff_t>(cap), 0);
  }

  size_t add_once(uint64_t addr, uint32_t len) {
    const uint64_t key = addr ^ (uint64_t{len} << 48);  // addresses are below 2^47, lengths small
    if (key == 0) return RemoteMemory::kNone;
    // More reads than the table was sized for (deep inlining): read them, just not deduplicated.
    if (2 * (queued_count_ + 1) > queued_mask_ + 1) return mem_.add(addr, len);
    for (uint64_t h = (key * 0x9e3779b97f4a7c15ull) >> 40;; ++h) {
      const size_t i = h & queued_mask_;
      if (queued_keys_[i] == key) return queued_reads_[i];
      if (queued_keys_[i] == 0) {
        queued_keys_[i] = key;
        queued_count_++;
        return queued_reads_[i] = mem_.add(addr, len);
      }
    }
  }

  // Frees the table (HeapReader::release_caches); the next reset_queued() makes it again.
  void release_caches() {
    queued_keys_ = {};
    queued_reads_ = {};
  }

 private:
  RemoteMemory mem_;

  // The reads queued in this call, by (address, length): the same object (a recursive function, a
  // map shared by many functions) is read once. A flat table, emptied per call without freeing.
  std::vector<uint64_t> queued_keys_;
  std::vector<size_t> queued_reads_;
  uint64_t queued_mask_ = 0;
  size_t queued_count_ = 0;
};

}  // namespace loopperf::v8
