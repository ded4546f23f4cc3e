// `loopperf dump -p PID` options; the dump itself is the record stage's (record/dump.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "dump_config.h"
#include "loopperf/common/log.h"
#include "loopperf/process/stop_watchdog.h"
#include "loopperf/report/dump.h"
#include "signals.h"
#include "stdout_writer.h"

namespace loopperf::cli {

Command register_dump(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  auto* sub = app.add_subcommand("dump", "Every thread's stack right now, with loop phase and activity (uses ptrace)");
  sub->add_option("-p,--pid", args->pid, "Process id")->required();
  sub->add_flag("--json", args->json, "JSON output (docs/dump.md)");
  sub->add_flag("--children", args->children,
                "Also dump every process descending from PID (cluster workers, child_process), one after another");
  sub->add_option("--js-names", args->js_names,
                  "auto (default), heap, map or none: where JavaScript frames get their names");
  return Command{sub, [args](const CommandContext&) -> Result<int> {
                   auto cfg = make_dump_config(*args, ::getpid());
                   if (!cfg) return cfg.error();
                   process::start_stop_watchdog();  // dump stops every thread (stop_watchdog.h)
                   install_job_control();
                   std::string text;
                   if (cfg->children) {
                     std::vector<std::string> skipped;
                     auto dumps = record::take_dumps(cfg->dump, skipped);
                     if (!dumps) return dumps.error();
                     for (const auto& s : skipped) log::warn("not dumped: " + s);
                     text = cfg->json ? report::render_dumps_json(*dumps) : report::render_dumps_text(*dumps);
                   } else {
                     auto dump = record::take_dump(cfg->dump);
                     if (!dump) return dump.error();
                     text = cfg->json ? report::render_dump_json(*dump) : report::render_dump_text(*dump);
                   }
                   if (auto st = write_stdout(text); !st) return st.error();
                   return 0;
                 }};
}

}  // namespace loopperf::cli
