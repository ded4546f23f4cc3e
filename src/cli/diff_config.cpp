#include "diff_config.h"

namespace loopperf::cli {

Result<DiffCommandConfig> make_diff_config(const DiffArgs& a) {
  DiffCommandConfig cfg;
  diff::DiffFilesConfig& f = cfg.files;
  auto threshold = diff::parse_percent(a.threshold, "--threshold", "2%");
  if (!threshold) return threshold.error();
  f.options.threshold = *threshold;
  auto confidence = diff::parse_percent(a.confidence, "--confidence", "99%");
  if (!confidence) return confidence.error();
  f.options.confidence = *confidence;
  auto run_noise = diff::parse_percent(a.run_noise, "--run-noise", "2%", /*allow_zero=*/true);
  if (!run_noise) return run_noise.error();
  f.options.run_noise = *run_noise;
  if (a.format == "text") f.format = diff::DiffFormat::kText;
  else if (a.format == "markdown") f.format = diff::DiffFormat::kMarkdown;
  else if (a.format == "json") f.format = diff::DiffFormat::kJson;
  else return make_error(ErrorCode::kUsage, "unknown format '" + a.format + "'", "use --format text, markdown or json");
  f.base = a.base;
  f.head = a.head;
  f.output = a.output;
  f.all = a.all;
  cfg.fail = a.fail;
  return cfg;
}

}  // namespace loopperf::cli
