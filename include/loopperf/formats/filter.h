// Narrows a profile to the samples a question is about (`convert --thread main --phase poll`). The
// result is again a Profile, so every writer, pprof included, takes a filtered profile as it is.
#pragma once

#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

// Within one list the values are alternatives (OR); the lists combine with AND. Empty = no filter.
struct FilterSpec {
  // Thread selectors, as `report --thread` takes them: "main", "worker", "pool", "loop" (main and
  // workers), a role ("libuv-pool" ...), a thread name ("node"), a tid ("4242") or "name (tid)" as
  // the writers print it.
  std::vector<std::string> threads;
  std::vector<std::string> phases;      // "poll", "timers" ... (docs/labels.md)
  std::vector<std::string> activities;  // "js", "gc" ...
  std::string focus;                    // ECMAScript regex: keep samples with a frame whose name matches
  // One process of a recording that followed several (profile/processes.h), with its own metadata;
  // 0: all of them.
  int64_t pid = 0;

  bool empty() const { return threads.empty() && phases.empty() && activities.empty() && focus.empty() && pid == 0; }
};

// Keeps the matching samples, with all their labels (known or not), and only the locations,
// functions and mappings they use (renumbered; ids stay index + 1). Metadata and comments are kept
// and the filter is recorded as metadata "filter". Errors (ErrorCode::kUsage): a phase or activity
// outside the vocabulary, a thread selector that matches no thread of this profile (the hint lists
// the threads it has), an invalid regex.
Result<profile::Profile> filter_profile(const profile::Profile& p, const FilterSpec& spec);
// The same, in place: the kept samples are not copied (for a profile read only to be filtered).
Result<profile::Profile> filter_profile(profile::Profile&& p, const FilterSpec& spec);

// True when `selector` names the sample's thread (profile::thread_selector_matches on its labels).
bool thread_matches(const profile::SampleView& s, const std::string& selector);

}  // namespace loopperf::formats
