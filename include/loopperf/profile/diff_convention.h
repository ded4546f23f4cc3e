// How one pprof file holds both sides of a diff (`loopperf diff -o`): Go pprof's -diff_base
// convention, head's samples as they are and base's negated and labelled pprof::base=true, plus the
// metadata loopperf adds. diff writes it; convert and the writers read it back with these helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "loopperf/profile/profile.h"

namespace loopperf::profile {

// The label pprof puts on a diff profile's base samples, and its value.
inline constexpr std::string_view kDiffBaseLabel = "pprof::base";
inline constexpr std::string_view kDiffBaseLabelValue = "true";

// Metadata of a diff profile (on top of head's own).
inline constexpr std::string_view kDiffBaseCmdlineMeta = "diff.base.cmdline";
inline constexpr std::string_view kDiffBaseSamplesMeta = "diff.base.samples";
inline constexpr std::string_view kDiffHeadSamplesMeta = "diff.head.samples";
// What base's count values were multiplied by to match head's total.
inline constexpr std::string_view kDiffBaseScaleMeta = "diff.base_scale";
// The two input files, as `loopperf diff` was given them.
inline constexpr std::string_view kDiffBaseFileMeta = "diff.base.file";
inline constexpr std::string_view kDiffHeadFileMeta = "diff.head.file";

// Labels a (negated) sample as base's.
void mark_diff_base(Sample& s);
// The sample carries pprof::base=true.
bool has_diff_base_label(const SampleView& s);
// A base sample: labelled, or `value` (the value a reader weighs it by) negative.
inline bool is_diff_base(const SampleView& s, int64_t value) { return value < 0 || has_diff_base_label(s); }

// A diff profile: a sample labelled pprof::base=true, or a negative value of any type (`pprof
// -base` output, a net change without the label). Ordinary profiles never have either: a loopperf
// recording with a negative value is refused when read (pprof_reader).
bool is_diff_profile(const Profile& p);

// diff.base_scale when present, a number and > 0.
std::optional<double> diff_base_scale(const Profile& p);

}  // namespace loopperf::profile
