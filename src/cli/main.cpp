// loopperf's entry point: dispatches to the commands and is the only place where errors become
// messages and exit statuses.
#include <CLI/CLI.hpp>
#include <cstring>
#include <exception>
#include <new>
#include <system_error>
#include <string>
#include <vector>

#include "commands.h"
#include "stdout_writer.h"
#include "loopperf/common/fd_budget.h"
#include "loopperf/common/log.h"

using namespace loopperf;

static int report_error(const Error& e) {
  log::error(e.message, e.hint);
  return static_cast<int>(e.code);
}

// What a command printed is part of its result: a failed write to standard output turns a success
// (or diff's "regression found") into exit 5; an error already reported keeps its status.
static int finish(int rc) {
  auto st = cli::close_stdout();
  if (st) return rc;
  if (rc != 0 && rc != cli::kRegressionStatus) return rc;
  return report_error(st.error());
}

static int run_main(int argc, char** argv);

int main(int argc, char** argv) { return finish(run_main(argc, argv)); }

static int run_main(int argc, char** argv) {
  // Everything after the first `--` is the command to launch; CLI11 never sees it, so the
  // command's own flags (node --inspect, --iterations 100) are not taken for ours.
  cli::CommandContext ctx;
  int our_argc = argc;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--") == 0) {
      our_argc = i;
      for (int j = i + 1; j < argc; j++) ctx.command.emplace_back(argv[j]);
      break;
    }
  }

  CLI::App app{"loopperf: out-of-process sampling profiler for Node.js event loops"};
  app.set_version_flag("--version", "loopperf " LOOPPERF_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug messages");
  std::vector<cli::Command> commands = {cli::register_record(app), cli::register_report(app), cli::register_dump(app), cli::register_convert(app), cli::register_diff(app),
                                          cli::register_watch(app)};

  try {
    app.parse(our_argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ErrorCode::kUsage);
  }
  if (verbose) log::set_level(log::Level::kVerbose);
  for (const auto& c : commands) {
    if (!c.sub->parsed()) continue;
    if (!ctx.command.empty() && c.sub->get_name() != "record" && c.sub->get_name() != "watch")
      return report_error(make_error(ErrorCode::kUsage, "only `record` and `watch` take a command after --"));
    // An option given an empty value (`-d ''`, a shell variable that was not set) is a mistake, not
    // a request for its default (for -d that would be: record until stopped).
    for (const CLI::Option* o : c.sub->get_options())
      if (o->get_items_expected_min() > 0)
        for (const auto& v : o->results())
          if (v.empty())
            return report_error(make_error(ErrorCode::kUsage, "option " + o->get_name() + " was given an empty value",
                                           "give it a value, or leave it out for its default"));
    // Stages report errors as Result; an exception reaching here is memory running out or a bug.
    // Either way it gets a message and its exit status rather than std::terminate's SIGABRT.
    try {
      auto r = c.run(ctx);
      return r.ok() ? r.value() : report_error(r.error());
    } catch (const std::bad_alloc&) {
      return report_error(make_error(ErrorCode::kResource, "out of memory",
                                     "free some memory; for record, a shorter -d or a lower -F needs less"));
    } catch (const std::exception& e) {
      // A thread that could not be started is a resource running out like memory, not a bug.
      if (const auto* se = dynamic_cast<const std::system_error*>(&e); se != nullptr && out_of_resources(se->code()))
        return report_error(make_error(ErrorCode::kResource, std::string("out of resources: ") + e.what(),
                                       "raise the limit that was reached (ulimit -u / -v, the container's memory or "
                                       "pids limit), or free some memory"));
      return report_error(make_error(ErrorCode::kInternal, std::string("internal error: ") + e.what(),
                                     "please report this with the command line that caused it"));
    }
  }
  return static_cast<int>(ErrorCode::kUsage);
}
