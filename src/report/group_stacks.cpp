// Top blockers' grouping of stacks (report.h: group_stacks). Every sample is summarized, but a group
// is kept as a hash of its key and a few numbers until the end: a profile of millions of distinct
// stacks (issue 22's 4.5 million) would otherwise hold millions of summary strings. Only the groups
// returned get their summary, recomputed from their heaviest sample (the group's key is its).
#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "loopperf/profile/labels.h"
#include "loopperf/report/report.h"

namespace loopperf::report {

namespace {

// Two keys are taken for one group when their 64-bit hashes and their lengths agree: for a million
// groups, a chance of about 10^-8 that two of them merge (and none for the few hundred of a real
// recording's). Holding every key's text to compare instead cost hundreds of MB (issue 22).
struct Group {       // 32 bytes: a profile of millions of distinct stacks has millions of groups
  uint64_t hash = 0;  // of the key (tid, summary, activity) ...
  uint64_t weight = 0;
  uint64_t heaviest_weight = 0;
  uint32_t heaviest = 0;  // sample index (the key's tid, summary and activity are its)
  uint32_t size = 0;      // ... and its length: two keys are one group when both agree
};

// An open-addressing table from a key's hash to its group (index + 1; 0 is empty), at most half full.
class GroupIndex {
 public:
  uint32_t* find_or_slot(uint64_t hash, uint32_t size, const std::deque<Group>& groups) {
    if ((groups.size() + 1) * 2 > slots_.size()) grow(groups);
    const size_t mask = slots_.size() - 1;
    for (size_t at = hash & mask;; at = (at + 1) & mask) {
      uint32_t& slot = slots_[at];
      if (slot == 0) return &slot;
      const Group& g = groups[slot - 1];
      if (g.hash == hash && g.size == size) return &slot;
    }
  }

 private:
  void grow(const std::deque<Group>& groups) {
    slots_.assign(std::max<size_t>(64, slots_.size() * 2), 0);
    const size_t mask = slots_.size() - 1;
    for (size_t i = 0; i < groups.size(); i++) {
      size_t at = groups[i].hash & mask;
      while (slots_[at] != 0) at = (at + 1) & mask;
      slots_[at] = static_cast<uint32_t>(i + 1);
    }
  }
  std::vector<uint32_t> slots_;
};

}  // namespace

std::vector<StackGroup> group_stacks(const profile::Profile& p,
                                     const std::function<std::optional<uint64_t>(size_t)>& weight,
                                     const GroupStacksOptions& options) {
  auto phase_of = [&](const profile::SampleView& s) {
    const std::string_view phase = s.str_label(profile::kPhaseLabel);
    return phase.empty() ? options.no_phase : phase;
  };
  std::deque<Group> groups;  // grows without copying what it holds
  GroupIndex index;
  const std::hash<std::string_view> hash;
  for (size_t i = 0; i < p.samples.size(); i++) {
    const std::optional<uint64_t> w = weight(i);
    if (!w) continue;
    const profile::SampleView s = p.samples[i];
    const int64_t tid = options.by_thread ? s.num_label(profile::kTidLabel).value_or(0) : 0;
    const std::string_view activity = s.str_label(profile::kActivityLabel);
    const std::string summary = summarize_stack(p, s, phase_of(s), activity);
    const uint64_t h = (hash(summary) * 31 + hash(activity)) * 1099511628211ull ^ static_cast<uint64_t>(tid);
    const uint32_t size = static_cast<uint32_t>((summary.size() << 8) ^ activity.size());
    uint32_t* slot = index.find_or_slot(h, size, groups);
    if (*slot == 0) {
      groups.push_back({h, 0, 0, static_cast<uint32_t>(i), size});
      *slot = static_cast<uint32_t>(groups.size());
    }
    Group& g = groups[*slot - 1];
    g.weight += *w;
    if (*w > g.heaviest_weight) {
      g.heaviest_weight = *w;
      g.heaviest = static_cast<uint32_t>(i);
    }
  }
  auto tid_of = [&](const Group& g) {
    return options.by_thread ? p.samples[g.heaviest].num_label(profile::kTidLabel).value_or(0) : 0;
  };
  // The first max_groups by rank, in a heap of that many whose top is the worst of them (ties:
  // the group seen first ranks higher).
  using Ranked = std::pair<double, size_t>;  // rank, group index
  auto better = [](const Ranked& a, const Ranked& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  std::vector<Ranked> top;
  for (size_t k = 0; k < groups.size() && options.max_groups > 0; k++) {
    const Group& g = groups[k];
    const double r = options.rank ? options.rank(tid_of(g), g.weight) : static_cast<double>(g.weight);
    if (top.size() < options.max_groups) {
      top.emplace_back(r, k);
      std::push_heap(top.begin(), top.end(), better);
    } else if (better({r, k}, top.front())) {
      std::pop_heap(top.begin(), top.end(), better);
      top.back() = {r, k};
      std::push_heap(top.begin(), top.end(), better);
    }
  }
  // Best first, ties in the order seen: the same total order that chose them, so that the first N
  // of a longer list are the N a shorter one keeps.
  std::sort(top.begin(), top.end(), better);
  std::vector<std::pair<double, StackGroup>> out;
  for (const auto& [r, k] : top) {
    const Group& g = groups[k];
    const profile::SampleView s = p.samples[g.heaviest];
    StackGroup sg;
    sg.tid = tid_of(g);
    sg.activity = std::string(s.str_label(profile::kActivityLabel));
    sg.phase = std::string(s.str_label(profile::kPhaseLabel));
    sg.summary = summarize_stack(p, s, phase_of(s), sg.activity);
    sg.weight = g.weight;
    if (g.heaviest_weight > 0) sg.heaviest = g.heaviest;
    out.emplace_back(r, std::move(sg));
  }
  std::vector<StackGroup> result;
  result.reserve(out.size());
  for (auto& [r, g] : out) result.push_back(std::move(g));
  return result;
}

}  // namespace loopperf::report
