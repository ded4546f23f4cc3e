#include "loopperf/record/run_warnings.h"

#include "loopperf/record/recorder.h"

namespace loopperf::record {

namespace {
// What only a node process has: names, its V8 and libuv.
void node_warnings(const Recorder& rec, const FinishedProfile& fin, const RunWarningContext& ctx,
                   std::vector<RunWarning>& out) {
  const auto& pm = rec.symbolizer().perf_map_status();
  // A map that was found and refused is always said (someone may have planted it); a missing one
  // only matters when the heap could not name the frames either.
  const bool map_refused = pm.found && !pm.trusted;
  const bool names_missing = !pm.found && !rec.heap_names() && ctx.js_names != symbols::JsNamesMode::kNone;
  if (map_refused || names_missing)
    out.push_back({pm.found ? "the perf map " + pm.path + " was ignored: " + pm.problem
                            : "no perf map found for pid " + std::to_string(ctx.pid) +
                                  ": JavaScript frames show as [unknown]",
                   ctx.launch ? "do not pass --no-perf-map"
                              : "start node with --perf-basic-prof (or NODE_OPTIONS=--perf-basic-prof), "
                                "or record in launch mode: loopperf record -- node app.js"});
  const uint64_t samples = rec.stats().samples;
  if (const uint64_t skipped = rec.heap_names_over_budget(); skipped * 100 > samples)
    out.push_back({std::to_string(skipped) + " of " + std::to_string(samples) +
                       " stacks were not named from the target's heap: reading its memory was slow (the target held "
                       "its memory-map lock, as a process that keeps creating threads or mapping memory does on a "
                       "busy machine)",
                   "frames the perf map names keep their names; start node with --perf-basic-prof to name the rest "
                   "(js_heap.over_budget in the profile counts them)"});
  const loop::LabelSummary& labels = fin.labels;
  if (!rec.libnode().empty()) {
    // A distribution's node (Debian's nodejs: libnode.so and the system's libuv.so, stripped of
    // local symbols): what it costs, in one line; the warnings below say how to get each back.
    std::string degraded = "stacks are walked with CFI through its code without frame pointers (more CPU for loopperf)";
    if (!fin.phase_problem.empty())
      degraded = "loop phases come from node's callbacks (" + std::to_string(labels.unknown_phase) + " of " +
                 std::to_string(labels.loop_samples) + " event-loop samples stay unknown); " + degraded;
    if (!rec.heap_names()) degraded = "JavaScript frames are named from V8's perf map only; " + degraded;
    out.push_back({"node runs as a shared library here (" + rec.libnode() + "): " + degraded,
                   "docs/troubleshooting.md, \"A distribution's node\""});
  }
  if (!fin.phase_problem.empty())
    out.push_back({"uv_run's call sites are unknown, so loop phases were recovered from node's own callbacks" +
                       (labels.learned_call_sites
                            ? " and the " + std::to_string(labels.learned_call_sites) +
                                  " call sites of uv_run they identify"
                            : std::string()) +
                       " (" + std::to_string(labels.unknown_phase) + " of " + std::to_string(labels.loop_samples) +
                       " event-loop samples stay phase=unknown): " + fin.phase_problem,
                   "activities (js, gc, sync-io ...) are still labelled; use a node binary with its symbol table "
                   "(official builds keep it) to see every phase"});
}
}  // namespace

std::vector<RunWarning> run_warnings(const Recorder& rec, const FinishedProfile& fin, const RunWarningContext& ctx) {
  std::vector<RunWarning> out;
  if (ctx.is_node) node_warnings(rec, fin, ctx, out);
  if (rec.stacks().overflowed() > 0)
    out.push_back({std::to_string(rec.stacks().overflowed()) + " samples had new stacks after the distinct-stack limit",
                   "record for a shorter time"});
  return out;
}

std::vector<RunWarning> tree_warnings(const std::vector<std::pair<pid_t, std::vector<RunWarning>>>& by_process) {
  std::vector<RunWarning> out;
  const bool several = by_process.size() > 1;
  for (const auto& [pid, warnings] : by_process)
    for (const auto& w : warnings)
      out.push_back({several ? "process " + std::to_string(pid) + ": " + w.text : w.text, w.hint});
  return out;
}

}  // namespace loopperf::record
