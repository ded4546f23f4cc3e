// `loopperf diff BASE HEAD`: did a function, a phase or an activity get a larger share of the time?
// The exit status says so for CI with --fail (docs/diff.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "loopperf/common/fs.h"
#include "loopperf/diff/diff.h"
#include "loopperf/diff/diff_profile.h"
#include "loopperf/diff/render.h"
#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/diff_convention.h"

namespace loopperf::cli {

namespace {

// `diff --fail` exits with this when a regression passes the threshold. It is a verdict, not an
// error (the diff itself worked), so it is not an ErrorCode; it is distinct from all of them.
constexpr int kRegressionStatus = 10;

struct DiffArgs {
  std::string base, head;
  std::string threshold = "2%";
  std::string confidence = "99%";
  std::string run_noise = "2%";
  std::string format = "text";
  std::string output;
  bool fail = false;
  bool all = false;
};

Result<profile::Profile> read_side(const std::string& path, const char* side) {
  auto p = formats::read_pprof(path);
  if (!p) {
    Error e = p.error();
    e.message = std::string("cannot read the ") + side + " profile: " + e.message;
    return e;
  }
  return p;
}

Result<int> run_diff(const DiffArgs& a) {
  diff::DiffOptions opt;
  auto threshold = diff::parse_percent(a.threshold, "--threshold", "2%");
  if (!threshold) return threshold.error();
  opt.threshold = *threshold;
  auto confidence = diff::parse_percent(a.confidence, "--confidence", "99%");
  if (!confidence) return confidence.error();
  opt.confidence = *confidence;
  auto run_noise = diff::parse_percent(a.run_noise, "--run-noise", "2%", /*allow_zero=*/true);
  if (!run_noise) return run_noise.error();
  opt.run_noise = *run_noise;
  if (!a.output.empty()) {
    // Only pprof keeps the negative base samples a diff is made of; other writers drop them.
    auto fmt = formats::output_format_for(a.output);
    if (!fmt) return fmt.error();
    if (*fmt != formats::OutputFormat::kPprof)
      return make_error(ErrorCode::kUsage, "-o " + a.output + ": a diff profile is written as pprof only",
                        "name it diff.pb.gz (view it with `pprof -http=: diff.pb.gz`, or `loopperf convert "
                        "diff.pb.gz -o diff.html`)");
    if (auto st = check_output_writable(a.output); !st) return st.error();
  }

  auto base = read_side(a.base, "base");
  if (!base) return base.error();
  auto head = read_side(a.head, "head");
  if (!head) return head.error();
  auto d = diff::diff_profiles(*base, *head, opt);
  if (!d) {
    Error e = d.error();
    e.message = "cannot diff " + a.base + " and " + a.head + ": " + e.message;
    return e;
  }
  d->base.file = a.base;
  d->head.file = a.head;

  if (!a.output.empty()) {
    auto merged = diff::make_diff_profile(*base, *head);
    if (!merged) return merged.error();
    merged->set_meta(std::string(profile::kDiffBaseFileMeta), a.base);
    merged->set_meta(std::string(profile::kDiffHeadFileMeta), a.head);
    if (auto st = formats::write_pprof(*merged, a.output); !st) return st.error();
  }

  std::string text = a.format == "json"       ? diff::render_json(*d, a.all)
                     : a.format == "markdown" ? diff::render_markdown(*d, a.all)
                                              : diff::render_text(*d, a.all);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return a.fail && d->count(diff::Verdict::kRegression) > 0 ? kRegressionStatus : 0;
}

}  // namespace

Command register_diff(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  auto* sub = app.add_subcommand(
      "diff", "Compare two profiles: which functions, phases, activities got more expensive");
  sub->add_option("base", args->base, "Profile of the baseline (e.g. the main branch), pprof")->required();
  sub->add_option("head", args->head, "Profile of the change, pprof")->required();
  sub->add_option("--threshold", args->threshold,
                  "Smallest change reported, in percentage points of share (default 2%)");
  sub->add_option("--confidence", args->confidence,
                  "Confidence that no reported change is noise, over all rows (default 99%)");
  sub->add_option("--run-noise", args->run_noise,
                  "How much an unchanged share varies between runs beyond sampling, relative (default 2%; "
                  "0 = sampling noise only)");
  sub->add_flag("--fail", args->fail, "Exit with status 10 when a regression is reported (for CI)");
  sub->add_option("--format", args->format, "text (default), markdown (a PR comment) or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  sub->add_option("-o,--output", args->output,
                  "Also write a pprof diff profile (base negated, pprof -diff_base style)");
  sub->add_flag("--all", args->all, "List every tested row, not only the reported ones");
  sub->footer(
      "Examples:\n"
      "  loopperf diff base.pb.gz head.pb.gz\n"
      "  loopperf diff base.pb.gz head.pb.gz --fail --format markdown -o diff.pb.gz\n"
      "Exit statuses: 0 (no regression, or no --fail), 10 regression found with --fail, 2 usage,\n"
      "5 -o not writable, 6 an input is unreadable, not pprof, or not comparable with the other");
  return Command{sub, [args](const CommandContext&) -> Result<int> { return run_diff(*args); }};
}

}  // namespace loopperf::cli
