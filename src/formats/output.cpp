#include "loopperf/formats/output.h"

#include "loopperf/formats/pprof.h"

namespace loopperf::formats {

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<OutputFormat> output_format_for(const std::string& path) {
  if (ends_with(path, ".pb.gz") || ends_with(path, ".pb") || ends_with(path, ".pprof") ||
      ends_with(path, ".prof"))
    return OutputFormat::kPprof;
  return make_error(ErrorCode::kUsage, "cannot tell the output format from the name '" + path + "'",
                    "end the file name with .pb.gz (pprof)");
}

const char* output_format_name(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPprof: return "pprof";
  }
  return "?";
}

Status write_profile(const profile::Profile& p, const std::string& path) {
  auto fmt = output_format_for(path);
  if (!fmt) return fmt.error();
  switch (*fmt) {
    case OutputFormat::kPprof: return write_pprof(p, path);
  }
  return make_error(ErrorCode::kInternal, "no writer");
}

}  // namespace loopperf::formats
