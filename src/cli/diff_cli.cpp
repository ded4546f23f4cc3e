// `loopperf diff BASE HEAD`: did a function, a phase or an activity get a larger share of the time?
// The exit status says so for CI with --fail (docs/diff.md).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "diff_config.h"
#include "stdout_writer.h"

namespace loopperf::cli {

Command register_diff(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  auto* sub = app.add_subcommand(
      "diff", "Compare two profiles: which functions, phases, activities got more expensive");
  sub->add_option("base", args->base,
                  "Profile of the baseline (e.g. the main branch), pprof; or a directory of recordings, one per run")
      ->required();
  sub->add_option("head", args->head, "Profile of the change, pprof; or a directory of recordings, one per run")
      ->required();
  sub->add_option("--threshold", args->threshold,
                  "Smallest change reported, in percentage points of share (default 2%)");
  sub->add_option("--confidence", args->confidence,
                  "Confidence that no reported change is noise, over all rows (default 99%)");
  sub->add_option("--run-noise", args->run_noise,
                  "With one recording per side: how much an unchanged share varies between runs beyond "
                  "sampling, relative (default 2%; 0 = sampling noise only). Measured instead when a side has "
                  "several recordings");
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
      "  loopperf diff base-runs/ head-runs/ --fail     (3 or more recordings per side: run noise measured)\n"
      "Exit statuses: 0 (no regression, or no --fail), 10 regression found with --fail, 2 usage,\n"
      "5 -o not writable, 6 an input is unreadable, not pprof, or not comparable with the other");
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   auto cfg = make_diff_config(*args);
                   if (!cfg) return cfg.error();
                   auto out = diff::diff_files(cfg->files);
                   if (!out) return out.error();
                   if (auto st = write_stdout(out->text); !st) return st.error();
                   return cfg->fail && out->regressions > 0 ? kRegressionStatus : 0;
                 }};
}

}  // namespace loopperf::cli
