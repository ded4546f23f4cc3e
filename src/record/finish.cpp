#include "loopperf/record/finish.h"

#include <malloc.h>

#include <cstdlib>
#include <ctime>
#include <set>

#include "loopperf/formats/output.h"
#include "loopperf/formats/pprof.h"
#include "loopperf/profile/labels.h"
#include "loopperf/loop/cut_phases.h"
#include "loopperf/loop/uv_run_phases.h"
#include "loopperf/record/config.h"
#include "loopperf/report/report.h"

namespace loopperf::record {

profile::PerfMapInfo perf_map_info(const symbols::PerfMapStatus& st) {
  profile::PerfMapInfo m;
  if (!st.found) return m;
  m.state = st.trusted ? profile::PerfMapInfo::State::kUsed : profile::PerfMapInfo::State::kIgnored;
  m.entries = st.entries;
  m.path = st.path;
  m.problem = st.problem;
  return m;
}

void resolve_stalls(std::vector<loop::LoopHealth>& health, const profile::Profile& p) {
  for (auto& h : health) {
    for (auto& s : h.stalls) {
      if (s.heaviest_stack < 0) {
        s.phase.clear();
        s.summary = loop::kStallNoSamples;
      } else if (static_cast<uint64_t>(s.heaviest_stack) >= p.samples.size()) {
        s.phase.clear();
        s.summary = "(stack not in the profile)";
      } else {
        const profile::SampleView sample = p.samples[static_cast<size_t>(s.heaviest_stack)];
        s.phase = std::string(sample.str_label(profile::kPhaseLabel));
        s.summary = report::summarize_stack(p, sample, s.phase, sample.str_label(profile::kActivityLabel));
      }
    }
  }
}

FinishedProfile finish_profile(const profile::StackTable& stacks, symbols::ProcessSymbolizer& symbolizer,
                               FinishOptions opts) {
  FinishedProfile out;
  profile::Profile& prof = out.profile;
  prof = profile::build_profile(stacks, symbolizer, opts.build);
  // Labelling still needs node's ELF file (uv_run's call sites), not what built the stacks.
  if (opts.release_raw) opts.release_raw();
  loop::UvRunPhases phases(prof, symbolizer);
  out.labels = loop::label_profile(prof, opts.is_node ? opts.pid : 0, phases.as_fn());
  std::vector<loop::LoopHealth> health;
  if (opts.health) {
    health = opts.health->finish(opts.end_ns);
    // Stacks cut short before uv_run take the phase of the whole samples around them (cut_phases.h).
    const uint64_t inferred = loop::infer_cut_phases(prof, health);
    out.labels.unknown_phase -= std::min(out.labels.unknown_phase, inferred);
    if (opts.recording && inferred) opts.recording->details.emplace_back("loop_health.phases_inferred", std::to_string(inferred));
  }
  if (out.labels.unknown_phase > 0)
    for (const auto& p : phases.problems()) out.phase_problem += (out.phase_problem.empty() ? "" : "; ") + p;
  if (opts.recording) {
    opts.recording->phase_problem = out.phase_problem;
    profile::write_recording_info(prof, *opts.recording);
  }
  if (opts.health) {
    // Health is kept for the event-loop threads only (the V8 delayed-task thread polls too).
    std::set<int64_t> loop_tids;
    for (const auto& s : prof.samples) {
      auto role = profile::parse_role(s.str_label(profile::kRoleLabel));
      if (role && profile::is_loop_role(*role)) loop_tids.insert(s.num_label(profile::kTidLabel).value_or(-1));
    }
    loop_tids.insert(opts.pid);  // an idle main loop has no samples in cpu mode, but it is a loop
    std::erase_if(health, [&](const loop::LoopHealth& h) { return !loop_tids.count(h.tid); });
    resolve_stalls(health, prof);
    loop::store_loop_health(prof, health);
  }
  return out;
}

Status write_or_rescue(const profile::Profile& p, const std::string& output, pid_t pid) {
  auto written = formats::write_profile(p, output);
  if (written) return {};
  // The disk filled or the directory went away during the recording: never lose what was
  // collected. Save the canonical pprof where it fits and say where.
  const char* tmp = std::getenv("TMPDIR");
  std::string rescue = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + default_output_name(pid, std::time(nullptr));
  Error e = written.error();
  if (rescue != output && formats::write_pprof(p, rescue).ok()) {
    e.message += "; the profile was saved to " + rescue + " instead";
  } else {
    e.message += "; the profile could not be saved anywhere";
  }
  return e;
}

}  // namespace loopperf::record
