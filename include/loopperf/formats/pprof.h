// pprof (gzipped perftools.profiles.Profile) is loopperf's canonical file. The schema is compiled
// from the copy shipped by Debian's golang-github-google-pprof-dev, never retyped.
#pragma once

#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats {

// Serializes to an uncompressed/gzipped protobuf byte string.
Result<std::string> encode_pprof(const profile::Profile& p, bool gzip = true);
// Parses gzipped or plain protobuf bytes (auto-detected). Validates ids and string indexes;
// ids that point nowhere give an ErrorCode::kInput error naming the problem.
Result<profile::Profile> decode_pprof(const std::string& bytes);

// Files: write is atomic (temp file + rename).
Status write_pprof(const profile::Profile& p, const std::string& path);
Result<profile::Profile> read_pprof(const std::string& path);

}  // namespace loopperf::formats
