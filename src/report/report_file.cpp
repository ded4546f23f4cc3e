#include "loopperf/report/report_file.h"

#include "loopperf/formats/pprof.h"
#include "loopperf/profile/processes.h"

namespace loopperf::report {

namespace {

// A recording of several processes (launch mode followed the command's tree): one report per
// process, the launched one first. JSON: {"version": 1, "processes": [report, ...]}.
Result<std::string> report_processes(const profile::Profile& p, const std::vector<int64_t>& pids,
                                     const ReportConfig& cfg) {
  std::string out;
  size_t shown = 0;
  std::optional<Error> thread_error;
  for (int64_t pid : pids) {
    auto one = profile::process_profile(p, pid);
    if (!one) return one.error();
    auto r = build_report(*one, cfg.options);
    if (!r) {
      // A thread selector may name a thread of one process only: the others are left out.
      if (!cfg.options.thread.empty() && r.error().code == ErrorCode::kUsage) {
        if (!thread_error) thread_error = r.error();
        continue;
      }
      return r.error();
    }
    std::string text = cfg.json ? render_json(*r) : render_text(*r, cfg.stacks);
    while (cfg.json && !text.empty() && text.back() == '\n') text.pop_back();
    if (cfg.json)
      out += (shown ? ",\n" : "") + text;
    else
      out += (shown ? "\n" : "") + std::string("process ") + std::to_string(shown + 1) + " of " +
             std::to_string(pids.size()) + "\n" + text;
    shown++;
  }
  if (shown == 0 && thread_error) return *thread_error;
  return cfg.json ? "{\"version\": 1, \"processes\": [\n" + out + "\n]}\n" : out;
}

}  // namespace

Result<std::string> report_file(const ReportConfig& cfg) {
  auto prof = formats::read_pprof(cfg.file);
  if (!prof) return prof.error();
  const std::vector<int64_t> pids = profile::process_ids(*prof);
  if (cfg.pid) {
    auto one = profile::process_profile(*prof, *cfg.pid);
    if (!one) return one.error();
    *prof = std::move(*one);
  } else if (pids.size() > 1) {
    return report_processes(*prof, pids, cfg);
  }
  auto r = build_report(*prof, cfg.options);
  if (!r) return r.error();
  return cfg.json ? render_json(*r) : render_text(*r, cfg.stacks);
}

}  // namespace loopperf::report
