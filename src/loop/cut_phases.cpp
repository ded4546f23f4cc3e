#include "loopperf/loop/cut_phases.h"

#include <algorithm>
#include <map>
#include <span>
#include <optional>
#include <string>

#include "loopperf/loop/labels.h"

namespace loopperf::loop {

namespace {

std::optional<Phase> loop_phase_of(const profile::SampleView& s) {
  auto phase = profile::parse_phase(s.str_label(profile::kPhaseLabel));
  if (!phase || *phase == Phase::kUnknown || *phase == Phase::kOutsideLoop) return std::nullopt;
  return phase;
}

profile::Labels with_phase(profile::Labels labels, Phase phase) {
  for (auto& l : labels.mutate())
    if (l.key == profile::kPhaseLabel) l.str = std::string(profile::phase_name(phase));
  return labels;
}

void copy_values(std::span<int64_t> to, const std::vector<int64_t>& from) { std::copy(from.begin(), from.end(), to.begin()); }

}  // namespace

uint64_t infer_cut_phases(profile::Profile& p, const std::vector<LoopHealth>& health) {
  // Sample index -> phase -> weight, for unknown-phase samples whose brackets agree.
  std::map<size_t, std::map<Phase, uint64_t>> found;
  for (const auto& h : health) {
    for (const auto& b : h.brackets) {
      const bool at_start = b.before == PhaseBracket::kPeriodStart;
      if (b.stack >= p.samples.size() || (!at_start && b.before >= p.samples.size()) || b.after >= p.samples.size())
        continue;
      if (p.samples[b.stack].str_label(profile::kPhaseLabel) != profile::phase_name(Phase::kUnknown)) continue;
      auto after = loop_phase_of(p.samples[b.after]);
      if (!after || *after == Phase::kPending) continue;  // pending runs twice between two waits
      if (at_start ? *after == Phase::kPoll : loop_phase_of(p.samples[b.before]) == after)
        found[b.stack][*after] += b.weight;
    }
  }
  uint64_t labelled = 0;
  for (auto& [index, phases] : found) {
    // What the sample holds, split in proportion; the rest (unbracketed) keeps `unknown`, and the
    // last part taken keeps the sample itself when nothing is left.
    const std::vector<int64_t> total(p.samples[index].values.begin(), p.samples[index].values.end());
    if (total.empty() || total[0] <= 0) continue;
    int64_t left = total[0];
    std::vector<int64_t> left_values = total;
    for (auto it = phases.begin(); it != phases.end(); ++it) {
      const int64_t count = std::min<int64_t>(static_cast<int64_t>(it->second), left);
      if (count <= 0) break;
      left -= count;
      labelled += static_cast<uint64_t>(count);
      if (left == 0) {  // the remainder, exactly: no rounding lost
        copy_values(p.samples.values(index), left_values);
        p.samples.set_labels(index, with_phase(p.samples[index].labels, it->first));
        break;
      }
      profile::Sample part = p.samples[index].copy();
      for (size_t v = 0; v < part.values.size(); v++) {
        part.values[v] = v == 0 ? count
                                : static_cast<int64_t>(static_cast<long double>(total[v]) * count / total[0]);
        left_values[v] -= part.values[v];
      }
      part.labels = with_phase(part.labels, it->first);
      p.samples.push_back(part);
      copy_values(p.samples.values(index), left_values);
    }
  }
  return labelled;
}

}  // namespace loopperf::loop
