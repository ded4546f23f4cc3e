// Each command lives in its own file and registers its options on the CLI11 app; main() only
// dispatches. A command's run function returns the exit status, or an Error that main() reports.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "loopperf/common/result.h"

namespace CLI {
class App;
}

namespace loopperf::cli {

// What main() hands every command besides its own options.
// `diff --fail` exits with this when a regression passes the threshold. It is a verdict, not an
// error (the diff itself worked), so it is not an ErrorCode; it is distinct from all of them.
constexpr int kRegressionStatus = 10;

struct CommandContext {
  std::vector<std::string> command;  // everything after `--`
};

// A registered command: `parsed()` tells whether the user chose it, `run()` runs it.
struct Command {
  CLI::App* sub = nullptr;
  std::function<Result<int>(const CommandContext&)> run;
};

Command register_record(CLI::App& app);
Command register_report(CLI::App& app);
Command register_dump(CLI::App& app);
Command register_diff(CLI::App& app);
Command register_convert(CLI::App& app);
Command register_watch(CLI::App& app);

}  // namespace loopperf::cli
