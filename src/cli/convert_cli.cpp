// `loopperf convert IN -o OUT` options; the conversion is the formats stage's (formats/convert.h).
#include <CLI/CLI.hpp>
#include <memory>

#include "commands.h"
#include "convert_config.h"
#include "loopperf/common/log.h"

namespace loopperf::cli {

Command register_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand("convert", "Write a profile in another format (speedscope, .cpuprofile, folded, HTML) or filter it");
  sub->add_option("input", args->input, "pprof file: from loopperf record, Go's pprof or Node's pprof package")->required();
  sub->add_option("-o,--output", args->output, "Output file; its name picks the format: " + formats::supported_outputs())
      ->required();
  sub->add_option("--thread", args->filter.threads,
                  "Only these threads: main, worker, pool, loop, a role, a name or a tid (repeatable)");
  sub->add_option("--pid", args->filter.pid, "Only this process, when the recording followed several (launch mode)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--phase", args->filter.phases, "Only these libuv phases: timers, poll, check ... (repeatable)");
  sub->add_option("--activity", args->filter.activities, "Only these activities: js, native, gc ... (repeatable)");
  sub->add_option("--focus", args->filter.focus, "Only samples with a frame whose name matches this regex");
  sub->add_flag("--phase-roots", args->phase_roots, "A [poll], [timers] ... root frame per phase (default for flame-style outputs)");
  sub->add_flag("--no-phase-roots", args->no_phase_roots, "No synthetic phase root frames");
  sub->add_option("--value", args->value, "Sample type to weigh by (e.g. samples, cpu); default per format");
  sub->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  sub->footer(
      "Examples:\n"
      "  loopperf convert stall.pb.gz -o stall.html\n"
      "  loopperf convert stall.pb.gz -o stall.speedscope.json\n"
      "  loopperf convert stall.pb.gz -o stall.cpuprofile --thread main\n"
      "  loopperf convert in.pb.gz -o main-poll.pb.gz --thread main --phase poll");
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   if (args->quiet) log::set_level(log::Level::kQuiet);
                   auto cfg = make_convert_config(*args);
                   if (!cfg) return cfg.error();
                   auto summary = formats::convert_file(*cfg);
                   if (!summary) return summary.error();
                   log::info(*summary);
                   return 0;
                 }};
}

}  // namespace loopperf::cli
