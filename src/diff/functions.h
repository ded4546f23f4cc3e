// Private to lp_diff: the function self/total counts of a profile, keyed by the names rows are matched
// by across two profiles (diff.h function_key).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::diff::detail {

// Function keys are interned across both profiles so that rows line up by name.
class KeyTable {
 public:
  uint32_t id(const std::string& key);
  size_t size() const { return names_.size(); }
  const std::string& name(uint32_t id) const { return names_[id]; }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

struct FunctionCounts {
  double n = 0;                     // samples of the population
  std::vector<double> self, total;  // by key id
  void grow(size_t keys) {
    self.resize(keys, 0);
    total.resize(keys, 0);
  }
};

struct ProfileCounts {
  FunctionCounts all;
  std::map<std::string, FunctionCounts> by_role;  // loop roles only: self counts for their scale
};

// Counts every sample's leaf (self) and every distinct function on its stack (total), weighted by
// the count sample type at `count_idx`. Kernel frames of an interrupt are left out (docs/diff.md).
ProfileCounts count_functions(const profile::Profile& p, size_t count_idx, KeyTable& keys);

// The file's base name; node's own modules ("node:fs") stay whole.
std::string basename_of(const std::string& file);

}  // namespace loopperf::diff::detail
