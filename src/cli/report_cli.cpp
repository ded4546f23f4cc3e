// `loopperf report FILE` options; the verdict is the report stage's (report/report_file.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "report_config.h"
#include "stdout_writer.h"

namespace loopperf::cli {

Command register_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand("report", "Where the event loop spent its time: phases, activities, top blockers");
  sub->add_option("file", args->file, "Profile written by loopperf record (pprof, .pb.gz)")->required();
  sub->add_option("--thread", args->thread, "Only this thread: a tid, a name, 'name (tid)', or main / worker / pool / loop");
  sub->add_option("--pid", args->pid, "Only this process, when the recording followed several (launch mode)");
  sub->add_option("--format", args->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  sub->add_flag("--stacks", args->stacks, "Print the full stack under each blocker");
  sub->add_option("--top", args->top, "How many blockers (default 10)")->check(CLI::Range(1, 1000));
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   auto cfg = make_report_config(*args);
                   if (!cfg) return cfg.error();
                   auto text = report::report_file(*cfg);
                   if (!text) return text.error();
                   if (auto st = write_stdout(*text); !st) return st.error();
                   return 0;
                 }};
}

}  // namespace loopperf::cli
