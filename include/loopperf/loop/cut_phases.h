// Phases for samples whose stack was cut short before uv_run, from the whole samples around them.
//
// A stack walk can stop short of uv_run: OpenSSL's SHA-512 loop keeps the frame address it will
// return through below the stack pointer, where no stack copy reaches, and a deep stack can outgrow
// the copy. Such a sample has no phase of its own. But between two poll waits libuv runs its phases
// in one order (poll callbacks, pending, check, close, timers, pending, idle, prepare), so a sample
// taken between two whole samples of the same busy period that are in the same phase (not pending,
// which comes twice) was in that phase too, and one taken before the period's first whole sample,
// when that one is in poll, was in poll. The loop-health tracker, which sees samples and poll waits
// in time order, records those brackets (loop::PhaseBracket); this labels the profile from them.
// Nothing is guessed: any other sample stays `unknown`.
#pragma once

#include <cstdint>
#include <vector>

#include "loopperf/loop/health.h"
#include "loopperf/profile/profile.h"

namespace loopperf::loop {

// Gives the bracketed `unknown`-phase samples of `p` (labelled by label_profile) the phase of their
// brackets, splitting a sample whose brackets differ (new samples are appended, so indices held
// elsewhere stay valid). Returns how many samples (first sample type) got a phase.
uint64_t infer_cut_phases(profile::Profile& p, const std::vector<LoopHealth>& health);

}  // namespace loopperf::loop
