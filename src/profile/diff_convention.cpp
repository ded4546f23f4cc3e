#include "loopperf/profile/diff_convention.h"

#include <cstdlib>
#include <string>

namespace loopperf::profile {

void mark_diff_base(Sample& s) {
  s.labels.push_back(Label{std::string(kDiffBaseLabel), std::string(kDiffBaseLabelValue), 0, "", false});
}

bool has_diff_base_label(const SampleView& s) { return s.str_label(kDiffBaseLabel) == kDiffBaseLabelValue; }

bool is_diff_profile(const Profile& p) {
  for (const auto& s : p.samples) {
    if (has_diff_base_label(s)) return true;
    for (int64_t v : s.values)
      if (v < 0) return true;
  }
  return false;
}

std::optional<double> diff_base_scale(const Profile& p) {
  std::string s(p.meta(kDiffBaseScaleMeta));
  char* end = nullptr;
  double r = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(r > 0)) return std::nullopt;
  return r;
}

}  // namespace loopperf::profile
