// libFuzzer target: a pprof file handed to `report`, `convert` or `diff`, which may come from any
// tool or be any file at all. decode_pprof must turn every input into a Profile or a kInput error;
// a Profile it accepts must then survive everything the commands do with it: the report (text and
// JSON), every output format, filters, a diff against itself and the diff profile, and a
// write-read round trip that gives the same profile back.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "loopperf/diff/diff.h"
#include "loopperf/diff/diff_profile.h"
#include "loopperf/diff/render.h"
#include "loopperf/formats/filter.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/report/report.h"

using namespace loopperf;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// The ids of a decoded profile are index + 1 and point somewhere: every consumer relies on that.
void check_ids(const profile::Profile& p) {
  for (const auto& s : p.samples) {
    check(s.values.size() == p.sample_types.size());
    for (uint64_t id : s.location_ids) check(p.location(id) != nullptr);
  }
  for (const auto& l : p.locations) {
    check(l.mapping_id == 0 || p.mapping(l.mapping_id) != nullptr);
    for (const auto& ln : l.lines) check(ln.function_id == 0 || p.function(ln.function_id) != nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string data(reinterpret_cast<const char*>(bytes), size);
  auto decoded = formats::decode_pprof(data);
  if (!decoded) {
    // Bad input is the user's file, never a bug: always kInput (or kResource for memory), with a message.
    check(decoded.error().code == ErrorCode::kInput || decoded.error().code == ErrorCode::kResource);
    check(!decoded.error().message.empty());
    return 0;
  }
  const profile::Profile& p = *decoded;
  check_ids(p);

  // report: every thread, then the selectors users type.
  for (const char* thread : {"", "main", "worker", "loop", "1"}) {
    report::ReportOptions opts;
    opts.thread = thread;
    opts.max_blockers = 5;
    if (auto r = report::build_report(p, opts)) {
      (void)report::render_text(*r, true);
      (void)report::render_json(*r);
    }
  }

  // convert: every format, with and without phase roots. A .cpuprofile lists every sample one by
  // one (up to 2*10^7 of them, by design): a fuzzed count of millions would only spend the time.
  bool huge_counts = false;
  for (const auto& s : p.samples)
    for (int64_t v : s.values) huge_counts |= v > 100'000 || v < -100'000;
  for (auto f : {formats::OutputFormat::kPprof, formats::OutputFormat::kSpeedscope, formats::OutputFormat::kCpuprofile,
                 formats::OutputFormat::kFolded, formats::OutputFormat::kHtml}) {
    if (f == formats::OutputFormat::kCpuprofile && huge_counts) continue;
    formats::WriteOptions opt;
    (void)formats::encode_profile(p, f, opt);
    opt.phase_roots = true;
    opt.all_threads = true;
    (void)formats::encode_profile(p, f, opt);
  }
  formats::FilterSpec spec;
  spec.threads = {"main"};
  spec.phases = {"poll"};
  if (auto filtered = formats::filter_profile(p, spec)) {
    check_ids(*filtered);
    // In place (convert's way), the same profile.
    profile::Profile copy = p;
    auto in_place = formats::filter_profile(std::move(copy), spec);
    check(in_place.ok());
    check_ids(*in_place);
    check(in_place->samples.size() == filtered->samples.size() &&
          in_place->locations.size() == filtered->locations.size());
  }

  // diff: the profile against itself (no share moves, so no row is reported), and the pprof diff
  // profile.
  if (auto d = diff::diff_profiles(p, p, diff::DiffOptions{})) {
    for (const auto& row : d->rows) {
      check(!row.reported());
      check(row.base_share == row.head_share || (std::isnan(row.base_share) && std::isnan(row.head_share)));
    }
    check(d->count(diff::Verdict::kRegression) == 0 && d->count(diff::Verdict::kImprovement) == 0);
    (void)diff::render_text(*d, true);
    (void)diff::render_json(*d, true);
    (void)diff::render_markdown(*d, true);
  }
  if (auto merged = diff::make_diff_profile(p, p)) check_ids(*merged);

  // Round trip: what we write, we read back as the same profile.
  auto bytes_out = formats::encode_pprof(p, /*gzip=*/false);
  check(bytes_out.ok());
  auto again = formats::decode_pprof(*bytes_out);
  check(again.ok());
  check(again->samples.size() == p.samples.size() && again->locations.size() == p.locations.size() &&
        again->functions.size() == p.functions.size() && again->mappings.size() == p.mappings.size());
  return 0;
}
