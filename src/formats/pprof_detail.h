// Private helpers shared by the pprof reader and writer (not part of the public API). The unit tests
// include this header to exercise the size cap without inflating a gigabyte.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "page_buffer.h"
#include "loopperf/common/result.h"

namespace loopperf::formats::detail {

// A pprof file is at most a few hundred MB; the cap stops a gzip bomb before it exhausts memory.
inline constexpr size_t kMaxInflatedBytes = size_t{1} << 30;
// How far a gzip file of `compressed` bytes may inflate: 64 times its size (pprof inflates ~3-20
// times; a gzip bomb ~1000), at least 64 MiB, at most kMaxInflatedBytes or what the environment's
// LOOPPERF_MAX_INFLATED_MB sets instead (1 to 2047: a genuine profile past the default).
size_t inflate_limit(size_t compressed);

// Every decode error carries this hint: the usual cause is handing loopperf some other kind of file.
inline constexpr const char* kPprofHint =
    "is this a pprof file? loopperf reads gzipped profile.proto files as written by loopperf record, "
    "Go's pprof, or Node's pprof package";

bool is_gzip(std::string_view data);
Result<std::string> gzip_compress(std::string_view data);

// Gzip output built a piece at a time: the encoder hands over each batch of samples and the
// uncompressed profile never exists whole.
class GzipWriter {
 public:
  GzipWriter();
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  Status write(std::string_view data);
  Result<std::string> finish();  // the whole gzip file; call once

 private:
  Status deflate_some(std::string_view data, bool finish);
  z_stream zs_{};
  std::string out_;
  bool ok_ = false, done_ = false;
  std::optional<Error> error_;
};
// Inflates one or more concatenated gzip members; more than `max_out` bytes is a kInput error.
Result<std::string> gunzip(std::string_view data, size_t max_out = kMaxInflatedBytes);
// The same into `out` (its pages grow without copying; pprof_reader's inflated profile).
Status gunzip_into(std::string_view data, size_t max_out, PageBuffer& out);

// proto3 parsers reject string fields that are not UTF-8, while file paths and symbol names are
// arbitrary bytes; both sides therefore replace invalid sequences with U+FFFD.
bool is_valid_utf8(std::string_view s);
std::string to_valid_utf8(std::string_view s);

}  // namespace loopperf::formats::detail
