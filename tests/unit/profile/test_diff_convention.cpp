// The diff-profile convention: what marks base's samples and the metadata, written and read back.
#include <catch2/catch.hpp>

#include "loopperf/profile/diff_convention.h"

using namespace loopperf;

namespace {
profile::Profile two_samples() {
  profile::Profile p;
  p.sample_types = {{"samples", "count"}};
  p.samples.push_back(profile::Sample{.location_ids = {}, .values = {3}, .labels = {}});
  p.samples.push_back(profile::Sample{.location_ids = {}, .values = {2}, .labels = {}});
  return p;
}
}  // namespace

TEST_CASE("diff convention: a marked sample is base, a profile with one is a diff profile") {
  auto p = two_samples();
  CHECK_FALSE(profile::is_diff_profile(p));
  p.samples.edit(1, [](profile::Sample& s) { profile::mark_diff_base(s); });
  CHECK(p.samples[1].str_label("pprof::base") == "true");
  CHECK(profile::has_diff_base_label(p.samples[1]));
  CHECK_FALSE(profile::has_diff_base_label(p.samples[0]));
  CHECK(profile::is_diff_base(p.samples[1], 2));
  CHECK(profile::is_diff_profile(p));
}

TEST_CASE("diff convention: a negative value alone makes a base sample and a diff profile") {
  auto p = two_samples();
  p.samples.values(0)[0] = -3;
  CHECK(profile::is_diff_base(p.samples[0], -3));
  CHECK_FALSE(profile::is_diff_base(p.samples[1], 2));
  CHECK(profile::is_diff_profile(p));
}

TEST_CASE("diff convention: diff.base_scale is read when it is a positive number") {
  auto p = two_samples();
  CHECK_FALSE(profile::diff_base_scale(p));
  p.set_meta(std::string(profile::kDiffBaseScaleMeta), "1.3");
  CHECK(profile::diff_base_scale(p) == 1.3);
  p.set_meta(std::string(profile::kDiffBaseScaleMeta), "0");
  CHECK_FALSE(profile::diff_base_scale(p));
  p.set_meta(std::string(profile::kDiffBaseScaleMeta), "2x");
  CHECK_FALSE(profile::diff_base_scale(p));
}
