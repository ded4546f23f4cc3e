// report, convert and diff: options become each stage's plain config; bad values are usage errors.
#include <catch2/catch.hpp>

#include "convert_config.h"
#include "diff_config.h"
#include "report_config.h"

using namespace loopperf;

TEST_CASE("report options become a plain config") {
  cli::ReportArgs a;
  a.file = "slow.pb.gz";
  a.thread = "node (4242)";
  a.format = "json";
  a.top = 3;
  auto cfg = cli::make_report_config(a);
  REQUIRE(cfg.ok());
  CHECK(cfg->file == "slow.pb.gz");
  CHECK(cfg->options.thread == "node (4242)");
  CHECK(cfg->options.max_blockers == 3);
  CHECK(cfg->json);
  CHECK_FALSE(cfg->stacks);
  a.format = "text";
  a.stacks = true;
  cfg = cli::make_report_config(a);
  REQUIRE(cfg.ok());
  CHECK_FALSE(cfg->json);
  CHECK(cfg->stacks);
}

TEST_CASE("report refuses an unknown format and --top out of range") {
  cli::ReportArgs a;
  a.format = "yaml";
  CHECK(cli::make_report_config(a).error().code == ErrorCode::kUsage);
  a.format = "text";
  for (size_t top : {size_t{0}, size_t{1001}}) {
    a.top = top;
    CHECK(cli::make_report_config(a).error().code == ErrorCode::kUsage);
  }
}

TEST_CASE("convert options become a plain config, phase roots are on, off or the format's default") {
  cli::ConvertArgs a;
  a.input = "in.pb.gz";
  a.output = "out.html";
  a.filter.threads = {"main"};
  a.value = "cpu";
  auto cfg = cli::make_convert_config(a);
  REQUIRE(cfg.ok());
  CHECK(cfg->input == "in.pb.gz");
  CHECK(cfg->output == "out.html");
  CHECK(cfg->filter.threads == std::vector<std::string>{"main"});
  CHECK(cfg->write.value_type == "cpu");
  CHECK_FALSE(cfg->write.phase_roots.has_value());
  a.phase_roots = true;
  CHECK(cli::make_convert_config(a)->write.phase_roots == true);
  a.phase_roots = false;
  a.no_phase_roots = true;
  CHECK(cli::make_convert_config(a)->write.phase_roots == false);
  a.phase_roots = true;
  auto both = cli::make_convert_config(a);
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().code == ErrorCode::kUsage);
}

TEST_CASE("diff options become a plain config") {
  cli::DiffArgs a;
  a.base = "base.pb.gz";
  a.head = "head.pb.gz";
  a.threshold = "5%";
  a.confidence = "95%";
  a.run_noise = "0";
  a.format = "markdown";
  a.output = "d.pb.gz";
  a.fail = true;
  auto cfg = cli::make_diff_config(a);
  REQUIRE(cfg.ok());
  CHECK(cfg->files.base == "base.pb.gz");
  CHECK(cfg->files.head == "head.pb.gz");
  CHECK(cfg->files.options.threshold == Approx(0.05));
  CHECK(cfg->files.options.confidence == Approx(0.95));
  CHECK(cfg->files.options.run_noise == 0);
  CHECK(cfg->files.format == diff::DiffFormat::kMarkdown);
  CHECK(cfg->files.output == "d.pb.gz");
  CHECK(cfg->fail);
  CHECK_FALSE(cfg->files.all);
}

TEST_CASE("diff refuses bad percentages and formats") {
  for (auto field : {&cli::DiffArgs::threshold, &cli::DiffArgs::confidence}) {
    cli::DiffArgs a;
    a.*field = "0";
    CHECK(cli::make_diff_config(a).error().code == ErrorCode::kUsage);
    a.*field = "150%";
    CHECK(cli::make_diff_config(a).error().code == ErrorCode::kUsage);
  }
  cli::DiffArgs a;
  a.format = "html";
  CHECK(cli::make_diff_config(a).error().code == ErrorCode::kUsage);
}
