#include "loopperf/formats/output.h"

#include <array>

#include "loopperf/common/fs.h"
#include "loopperf/formats/cpuprofile.h"
#include "loopperf/formats/folded.h"
#include "loopperf/formats/html_flamegraph.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/formats/speedscope.h"
#include "sink.h"

namespace loopperf::formats {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct Suffix {
  std::string_view suffix;
  OutputFormat format;
};
// Longest first: "x.speedscope.json" must not be taken for some other ".json".
constexpr std::array<Suffix, 10> kSuffixes = {{
    {".speedscope.json", OutputFormat::kSpeedscope},
    {".cpuprofile", OutputFormat::kCpuprofile},
    {".collapsed", OutputFormat::kFolded},
    {".folded", OutputFormat::kFolded},
    {".pprof", OutputFormat::kPprof},
    {".pb.gz", OutputFormat::kPprof},
    {".prof", OutputFormat::kPprof},
    {".html", OutputFormat::kHtml},
    {".htm", OutputFormat::kHtml},
    {".pb", OutputFormat::kPprof},
}};

}  // namespace

Result<OutputFormat> output_format_for(const std::string& path) {
  for (const auto& s : kSuffixes)
    if (ends_with(path, s.suffix)) return s.format;
  return make_error(ErrorCode::kUsage, "cannot tell the output format from the name '" + path + "'",
                    "end the file name with one of: " + supported_outputs());
}

std::string supported_outputs() {
  return ".pb.gz (pprof), .speedscope.json (speedscope), .cpuprofile (Chrome DevTools), "
         ".folded (collapsed stacks), .html (flame graph)";
}

const char* output_format_name(OutputFormat f) {
  switch (f) {
    case OutputFormat::kPprof: return "pprof";
    case OutputFormat::kSpeedscope: return "speedscope";
    case OutputFormat::kCpuprofile: return "cpuprofile";
    case OutputFormat::kFolded: return "folded";
    case OutputFormat::kHtml: return "html";
  }
  return "?";
}

namespace {

// The writers that draw stacks (all but pprof), into a sink.
Status write_stacks(const profile::Profile& p, OutputFormat f, const WriteOptions& opt, detail::Sink& sink) {
  switch (f) {
    case OutputFormat::kSpeedscope:
      return detail::write_speedscope(
          p, {.phase_roots = opt.phase_roots.value_or(true), .value_type = opt.value_type, .name = {}}, sink);
    case OutputFormat::kCpuprofile:
      return detail::write_cpuprofile(
          p, {.phase_roots = opt.phase_roots.value_or(false), .thread = opt.thread, .all_threads = opt.all_threads},
          sink);
    case OutputFormat::kFolded:
      return detail::write_folded(p, {.phase_roots = opt.phase_roots.value_or(true), .value_type = opt.value_type},
                                  sink);
    case OutputFormat::kHtml:
      return detail::write_html_flamegraph(
          p, {.phase_roots = opt.phase_roots.value_or(true), .value_type = opt.value_type, .title = {}}, sink);
    case OutputFormat::kPprof: break;
  }
  return make_error(ErrorCode::kInternal, "no stack writer for this output format");
}

}  // namespace

Result<std::string> encode_profile(const profile::Profile& p, OutputFormat f, const WriteOptions& opt) {
  if (f == OutputFormat::kPprof) return encode_pprof(p);
  detail::Sink sink;
  if (auto st = write_stacks(p, f, opt, sink); !st) return st.error();
  return sink.take();
}

Status write_profile(const profile::Profile& p, const std::string& path, const WriteOptions& opt) {
  auto fmt = output_format_for(path);
  if (!fmt) return fmt.error();
  if (*fmt == OutputFormat::kPprof) return write_pprof(p, path);
  // The other formats are written as they are made: their text can be several times the profile.
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  detail::Sink sink(*file);
  if (auto st = write_stacks(p, *fmt, opt, sink); !st) return st;
  sink.flush();
  return file->commit();
}

}  // namespace loopperf::formats
