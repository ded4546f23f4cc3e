// `loopperf report FILE`: the verdict in the terminal (or JSON for scripts).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/report/report.h"

namespace loopperf::cli {

namespace {
struct ReportArgs {
  std::string file;
  std::string thread;
  std::string format = "text";
  bool stacks = false;
  size_t top = 10;
};
}  // namespace

Command register_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand("report", "Where the event loop spent its time: phases, activities, top blockers");
  sub->add_option("file", args->file, "Profile written by loopperf record (pprof, .pb.gz)")->required();
  sub->add_option("--thread", args->thread, "Only this thread: a tid, a name, or main / worker / pool / loop");
  sub->add_option("--format", args->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  sub->add_flag("--stacks", args->stacks, "Print the full stack under each blocker");
  sub->add_option("--top", args->top, "How many blockers (default 10)")->check(CLI::Range(1, 1000));
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   auto prof = formats::read_pprof(args->file);
                   if (!prof) return prof.error();
                   report::ReportOptions opts;
                   opts.thread = args->thread;
                   opts.max_blockers = args->top;
                   auto r = report::build_report(*prof, opts);
                   if (!r) return r.error();
                   std::string text = args->format == "json" ? report::render_json(*r) : report::render_text(*r, args->stacks);
                   std::fwrite(text.data(), 1, text.size(), stdout);
                   return 0;
                 }};
}

}  // namespace loopperf::cli
