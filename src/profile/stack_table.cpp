#include "loopperf/profile/stack_table.h"

#include <limits>

namespace loopperf::profile {

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr size_t kInitialSlots = 1024;  // a power of two

uint64_t mix(uint64_t x) {  // splitmix64's finalizer: cheap, and every input bit reaches every output bit
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t node_hash(uint32_t parent, uint64_t addr, bool kernel) {
  return mix(addr ^ mix((uint64_t{parent} << 1) | (kernel ? 1 : 0)));
}

uint64_t entry_hash(pid_t tid, StackTable::Tag tag, uint32_t leaf) {
  uint64_t a = (uint64_t{static_cast<uint32_t>(tid)} << 32) | leaf;
  uint64_t b = (uint64_t{tag.window} << 40) | (uint64_t{static_cast<uint32_t>(tag.syscall)} << 1) | (tag.wall ? 1 : 0);
  return mix(a ^ mix(b));
}

}  // namespace

StackTable::StackTable(size_t max_stacks) : max_stacks_(max_stacks) {
  nodes_.emplace_back();
  node_slots_.assign(kInitialSlots, 0);
  entry_slots_.assign(kInitialSlots, 0);
}

uint32_t StackTable::child(uint32_t parent, const Frame& f, bool create) {
  size_t mask = node_slots_.size() - 1;
  for (size_t i = node_hash(parent, f.addr ^ (uint64_t{f.js} << 47), f.kernel) & mask;; i = (i + 1) & mask) {
    uint32_t id = node_slots_[i];
    if (id == 0) {
      if (!create) return 0;
      id = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(Node{f.addr, parent, f.kernel, f.js});
      node_slots_[i] = id;
      if (nodes_.size() * 2 > node_slots_.size()) grow_node_slots();  // load factor <= 1/2
      return id;
    }
    const Node& n = nodes_[id];
    if (n.parent == parent && n.addr == f.addr && n.kernel == f.kernel && n.js == f.js) return id;
  }
}

// Doubles an open-addressing table over items [first, end): item k is stored as k + stored_offset
// (0 marks an empty slot) at hash_of(k).
template <typename Hash>
static void rehash_doubled(std::vector<uint32_t>& slots, uint32_t first, uint32_t end, uint32_t stored_offset, Hash hash_of) {
  slots.assign(slots.size() * 2, 0);
  size_t mask = slots.size() - 1;
  for (uint32_t k = first; k < end; k++) {
    size_t i = hash_of(k) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = k + stored_offset;
  }
}

void StackTable::grow_node_slots() {
  rehash_doubled(node_slots_, 1, static_cast<uint32_t>(nodes_.size()), 0,
                 [this](uint32_t id) { return node_hash(nodes_[id].parent, nodes_[id].addr ^ (uint64_t{nodes_[id].js} << 47), nodes_[id].kernel); });
}

uint32_t StackTable::entry_for(pid_t tid, Tag tag, uint32_t leaf, uint32_t depth) {
  size_t mask = entry_slots_.size() - 1;
  for (size_t i = entry_hash(tid, tag, leaf) & mask;; i = (i + 1) & mask) {
    uint32_t slot = entry_slots_[i];
    if (slot == 0) {
      if (entries_.size() >= max_stacks_) return kNone;
      uint32_t index = static_cast<uint32_t>(entries_.size());
      entries_.push_back(Entry{tid, tag, leaf, depth, 0, 0});
      entry_slots_[i] = index + 1;
      if (entries_.size() * 2 > entry_slots_.size()) grow_entry_slots();
      return index;
    }
    const Entry& e = entries_[slot - 1];
    if (e.leaf == leaf && e.tid == tid && e.tag == tag) return slot - 1;
  }
}

void StackTable::grow_entry_slots() {
  rehash_doubled(entry_slots_, 0, static_cast<uint32_t>(entries_.size()), 1, [this](uint32_t index) {
    const Entry& e = entries_[index];
    return entry_hash(e.tid, e.tag, e.leaf);
  });
}

uint32_t StackTable::add(pid_t tid, std::span<const Frame> frames, uint64_t period, Tag tag, uint64_t count) {
  total_samples_ += count;
  // Once the table is full a stack with a frame the tree lacks cannot get an entry: its frames are
  // not added either, or the tree would grow with every overflowing sample (a churning target's new
  // stacks: 350k orphaned frames, ~10 MB, in a 3-minute recording at 4999 Hz).
  const bool full = entries_.size() >= max_stacks_;
  uint32_t node = 0;
  for (size_t i = frames.size(); i-- > 0;) {
    node = child(node, frames[i], !full);
    if (node == 0) break;
  }
  uint32_t index = node == 0 && !frames.empty() ? kNone : entry_for(tid, tag, node, static_cast<uint32_t>(frames.size()));
  if (index == kNone) {
    overflowed_ += count;
    return add_overflow(tid, Tag{tag.wall, -1, tag.window}, count, period);
  }
  entries_[index].count += count;
  entries_[index].period += period;
  return index;
}

uint32_t StackTable::add_overflow(pid_t tid, Tag tag, uint64_t count, uint64_t period) {
  // Not in entry_slots_: the table is full when this is first needed, and lookups by stack must
  // never land on it.
  auto [ov, inserted] = overflow_index_.try_emplace(tid, static_cast<uint32_t>(entries_.size()));
  if (inserted) entries_.push_back(Entry{tid, tag, 0, 0, 0, 0});
  entries_[ov->second].count += count;
  entries_[ov->second].period += period;
  return ov->second;
}

std::vector<Frame> StackTable::frames(const Entry& e) const {
  std::vector<Frame> out;
  out.reserve(e.depth);
  for (uint32_t n = e.leaf; n != 0; n = nodes_[n].parent) out.push_back(Frame{nodes_[n].addr, nodes_[n].kernel, nodes_[n].js});
  return out;
}

std::vector<uint32_t> StackTable::compact(const std::function<uint64_t(const Frame&)>& canonical) {
  std::vector<Entry> old_entries = std::move(entries_);
  std::vector<Node> old_nodes = std::move(nodes_);
  std::unordered_map<pid_t, uint32_t> old_overflow = std::move(overflow_index_);
  entries_.clear();
  nodes_.assign(1, Node{});
  overflow_index_.clear();
  node_slots_.assign(kInitialSlots, 0);
  entry_slots_.assign(kInitialSlots, 0);
  // Only frames of some entry's stack are kept (a parent's index is below its children's, so one
  // pass down marks every ancestor), and one pass up rebuilds the tree rewritten.
  std::vector<uint8_t> used(old_nodes.size(), 0);
  for (size_t i = 0; i < old_entries.size(); i++) {
    auto ov = old_overflow.find(old_entries[i].tid);
    if (ov == old_overflow.end() || ov->second != i) used[old_entries[i].leaf] = 1;
  }
  for (uint32_t id = static_cast<uint32_t>(old_nodes.size()); id-- > 1;)
    if (used[id]) used[old_nodes[id].parent] = 1;
  std::vector<uint32_t> new_node(old_nodes.size(), 0);
  for (uint32_t id = 1; id < old_nodes.size(); id++) {
    if (!used[id]) continue;
    const Node& n = old_nodes[id];
    Frame f{n.addr, n.kernel, n.js};
    f.addr = canonical(f);
    new_node[id] = child(new_node[n.parent], f);
  }
  old_nodes = {};
  // Entries are re-added in their old order and only merge, so each lands at or below its old
  // index, which was below the limit; the limit is lifted anyway so that no count can be lost.
  const size_t limit = max_stacks_;
  max_stacks_ = std::numeric_limits<size_t>::max();
  std::vector<uint32_t> old_to_new(old_entries.size());
  for (size_t i = 0; i < old_entries.size(); i++) {
    const Entry& e = old_entries[i];
    auto ov = old_overflow.find(e.tid);
    if (ov != old_overflow.end() && ov->second == i) {
      old_to_new[i] = add_overflow(e.tid, e.tag, e.count, e.period);
      continue;
    }
    uint32_t index = entry_for(e.tid, e.tag, new_node[e.leaf], e.depth);
    entries_[index].count += e.count;
    entries_[index].period += e.period;
    old_to_new[i] = index;
  }
  max_stacks_ = limit;
  entries_.shrink_to_fit();
  nodes_.shrink_to_fit();
  return old_to_new;
}

void StackTable::release() {
  entries_ = {};
  nodes_.assign(1, Node{});
  nodes_.shrink_to_fit();
  node_slots_.assign(kInitialSlots, 0);
  node_slots_.shrink_to_fit();
  entry_slots_.assign(kInitialSlots, 0);
  entry_slots_.shrink_to_fit();
  overflow_index_.clear();
}

size_t StackTable::memory_bytes() const {
  return entries_.capacity() * sizeof(Entry) + nodes_.capacity() * sizeof(Node) +
         (node_slots_.capacity() + entry_slots_.capacity()) * sizeof(uint32_t) + overflow_index_.size() * 32;
}

}  // namespace loopperf::profile
