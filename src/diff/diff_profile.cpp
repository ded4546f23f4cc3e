// BASE and HEAD merged into one pprof diff profile (Go pprof's -diff_base convention).
#include "loopperf/profile/recording_info.h"
#include "loopperf/diff/diff_profile.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "loopperf/profile/diff_convention.h"

namespace loopperf::diff {

namespace {

std::vector<double> totals(const profile::Profile& p) {
  std::vector<double> t(p.sample_types.size(), 0);
  for (const auto& s : p.samples)
    for (size_t i = 0; i < t.size() && i < s.values.size(); i++) t[i] += static_cast<double>(s.values[i]);
  return t;
}

std::string format_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", r);
  return buf;
}

// Appends `from`'s mappings, functions (one copy of a function both hold) and locations to `out`;
// returns what `from`'s location ids must be shifted by. Mappings and locations stay per profile:
// addresses differ between processes.
uint64_t append_tables(profile::Profile& out, const profile::Profile& from) {
  const uint64_t mapping_offset = out.mappings.size();
  const uint64_t location_offset = out.locations.size();
  out.mappings.insert(out.mappings.end(), from.mappings.begin(), from.mappings.end());

  using FnKey = std::tuple<std::string, std::string, std::string, int64_t>;
  std::map<FnKey, uint64_t> fn_ids;
  for (size_t i = 0; i < out.functions.size(); i++) {
    const auto& f = out.functions[i];
    fn_ids.try_emplace(FnKey{f.name, f.system_name, f.file, f.start_line}, i + 1);
  }
  std::vector<uint64_t> fn_map(from.functions.size() + 1, 0);
  for (size_t i = 0; i < from.functions.size(); i++) {
    const auto& f = from.functions[i];
    auto [it, fresh] =
        fn_ids.try_emplace(FnKey{f.name, f.system_name, f.file, f.start_line}, out.functions.size() + 1);
    if (fresh) out.functions.push_back(f);
    fn_map[i + 1] = it->second;
  }
  for (const auto& loc : from.locations) {
    profile::Location l = loc;
    if (l.mapping_id) l.mapping_id += mapping_offset;
    for (auto& line : l.lines)
      line.function_id = line.function_id < fn_map.size() ? fn_map[line.function_id] : 0;
    out.locations.push_back(std::move(l));
  }
  return location_offset;
}

// Where each of `to`'s sample types sits in `from`; an error naming a type `from` lacks.
Result<std::vector<size_t>> type_positions(const profile::Profile& from, const profile::Profile& to,
                                           const char* from_name) {
  std::vector<size_t> pos(to.sample_types.size());
  for (size_t i = 0; i < to.sample_types.size(); i++) {
    size_t j = 0;
    while (j < from.sample_types.size() && !(from.sample_types[j] == to.sample_types[i])) j++;
    if (j == from.sample_types.size())
      return make_error(ErrorCode::kInput,
                        std::string("the ") + from_name + " profile has no " + to.sample_types[i].type + " values",
                        "diff two recordings of the same kind");
    pos[i] = j;
  }
  return pos;
}

}  // namespace

Result<profile::Profile> concat_runs(const std::vector<const profile::Profile*>& runs) {
  if (runs.empty()) return make_error(ErrorCode::kInput, "no recordings to combine", "");
  profile::Profile out = *runs.front();
  for (size_t r = 1; r < runs.size(); r++) {
    const profile::Profile& p = *runs[r];
    auto pos = type_positions(p, out, "another recording's");
    if (!pos) return pos.error();
    const uint64_t location_offset = append_tables(out, p);
    for (const auto& s : p.samples) {
      profile::Sample c;
      for (size_t j : *pos) c.values.push_back(j < s.values.size() ? s.values[j] : 0);
      for (uint64_t id : s.location_ids) c.location_ids.push_back(id ? id + location_offset : 0);
      c.labels = s.labels;
      out.samples.push_back(std::move(c));
    }
    out.duration_nanos += p.duration_nanos;
  }
  return out;
}

Result<profile::Profile> make_diff_profile(const profile::Profile& base, const profile::Profile& head) {
  // Where each of head's sample types sits in base (same types, possibly in another order).
  auto positions = type_positions(base, head, "base");
  if (!positions) return positions.error();
  const std::vector<size_t>& from_base = *positions;
  std::vector<double> head_total = totals(head), base_total = totals(base);
  // pprof -normalize: each type's base values times head total / base total, so that a diff of 0
  // means "same share", whatever the run lengths.
  std::vector<double> ratio(head.sample_types.size(), 1);
  for (size_t i = 0; i < ratio.size(); i++)
    if (base_total[from_base[i]] > 0) ratio[i] = head_total[i] / base_total[from_base[i]];

  profile::Profile out = head;
  const uint64_t location_offset = append_tables(out, base);

  // Rounded cumulatively (each record gets round(running sum) - what was already emitted), so that
  // the scaled base total is exact to one unit: rounding each record alone would lose up to half a
  // sample per record, a few percent of a profile with many single-sample stacks.
  std::vector<double> exact(ratio.size(), 0);
  std::vector<int64_t> emitted(ratio.size(), 0);
  for (const auto& s : base.samples) {
    profile::Sample d;
    d.values.resize(head.sample_types.size(), 0);
    bool any = false;
    for (size_t i = 0; i < d.values.size(); i++) {
      size_t j = from_base[i];
      exact[i] += (j < s.values.size() ? static_cast<double>(s.values[j]) : 0) * ratio[i];
      int64_t v = std::llround(exact[i]) - emitted[i];
      emitted[i] += v;
      d.values[i] = -v;
      any |= v != 0;
    }
    if (!any) continue;
    for (uint64_t id : s.location_ids) d.location_ids.push_back(id ? id + location_offset : 0);
    d.labels = s.labels;
    profile::mark_diff_base(d);
    out.samples.push_back(std::move(d));
  }

  out.set_meta(std::string(profile::kDiffBaseCmdlineMeta), profile::read_recording_info(base).cmdline);
  if (!ratio.empty()) {
    size_t c = head.value_index("samples").value_or(0);
    out.set_meta(std::string(profile::kDiffBaseSamplesMeta), std::to_string(std::llround(base_total[from_base[c]])));
    out.set_meta(std::string(profile::kDiffHeadSamplesMeta), std::to_string(std::llround(head_total[c])));
    out.set_meta(std::string(profile::kDiffBaseScaleMeta), format_ratio(ratio[c]));
  }
  return out;
}

}  // namespace loopperf::diff
