// The label vocabulary (phases, activities, roles, label keys) is the model's: profile/labels.h.
// The loop stage writes it, so it uses those names as its own.
#pragma once

#include "loopperf/profile/labels.h"

namespace loopperf::loop {

using profile::Activity;
using profile::Entry;
using profile::Phase;
using profile::ThreadRole;

using profile::activity_name;
using profile::entry_name;
using profile::is_loop_role;
using profile::parse_activity;
using profile::parse_phase;
using profile::parse_role;
using profile::phase_name;
using profile::role_name;

using profile::kActivityLabel;
using profile::kEntryLabel;
using profile::kPhaseLabel;
using profile::kRoleLabel;
using profile::kThreadLabel;
using profile::kTidLabel;

}  // namespace loopperf::loop
