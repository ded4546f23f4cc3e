#include "dump_config.h"

#include "loopperf/common/duration.h"

namespace loopperf::cli {

Result<DumpCommandConfig> make_dump_config(const DumpArgs& args, pid_t self_pid) {
  auto pid = parse_int(args.pid, 1, 4194304, "pid");
  if (!pid) return pid.error();
  if (*pid == self_pid) return make_error(ErrorCode::kUsage, "refusing to dump loopperf itself");
  DumpCommandConfig cfg;
  cfg.dump.pid = static_cast<pid_t>(*pid);
  cfg.json = args.json;
  cfg.children = args.children;
  auto js = symbols::parse_js_names_mode(args.js_names);
  if (!js) return js.error();
  cfg.dump.js_names = *js;
  return cfg;
}

}  // namespace loopperf::cli
