// A recording of several processes (launch mode follows the command's process tree): one Profile
// whose samples carry the `pid` label, with each process's own metadata kept apart.
//
// Metadata: the launched process's keys stay as they are, so a reader that knows one process sees
// the launched one; `processes` lists every pid, the launched one first; every other process's keys
// are written as `process.PID.KEY`. process_profile() gives one process back as a profile of its
// own, which every single-process reader (report, convert) takes as before.
#pragma once

#include <cstdint>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::profile {

struct ProcessPart {
  int64_t pid = 0;
  Profile profile;  // one process's profile, as a recording of that process alone would write it
};

// Merges the parts (the launched process first) into one profile. Sample types and period are the
// first part's; a part whose sample types differ is refused (loopperf writes them alike). Parts of
// one pid (programs it ran one after the other) are one process, described by its first part.
Result<Profile> merge_processes(std::vector<ProcessPart> parts);

// The pids of a merged profile, the launched one first; empty for a profile of one process.
std::vector<int64_t> process_ids(const Profile& p);

// One process of a merged profile, with its own metadata. A pid the profile does not hold is a
// usage error that lists the ones it does.
Result<Profile> process_profile(const Profile& p, int64_t pid);

}  // namespace loopperf::profile
