// A recording session (session.h): preflight, launch or attach, the sampling loop, the profile and
// the messages at the end.
#include "loopperf/record/session.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <future>
#include <memory>
#include <new>
#include <optional>
#include <system_error>

#include "loopperf/common/duration.h"
#include "loopperf/common/fd_budget.h"
#include "loopperf/common/fs.h"
#include "loopperf/common/log.h"
#include "loopperf/formats/output.h"
#include "loopperf/process/launch.h"
#include "loopperf/process/process.h"
#include "loopperf/profile/processes.h"
#include "loopperf/profile/recording_info.h"
#include "loopperf/record/node_target.h"
#include "loopperf/record/process_tree.h"
#include "loopperf/record/recorder.h"
#include "loopperf/record/run_warnings.h"
#include "loopperf/sample/process_events.h"
#include "loopperf/sample/tree_sampler.h"

namespace loopperf::record {

namespace {

using Clock = std::chrono::steady_clock;

// A private directory for V8's isolate log in launch mode, removed afterwards.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/loopperf-XXXXXX";
    if (::mkdtemp(tmpl)) path = tmpl;
  }
  ~TempDir() {
    if (path.empty()) return;
    ::unlink((path + "/v8.log").c_str());
    ::rmdir(path.c_str());
  }
};

// `pids`: the launched process and every process of its tree that was recorded.
void finish_launch(process::LaunchedChild& child, const RecordConfig& cfg, const std::vector<pid_t>& pids) {
  child.wait();
  child.cleanup_v8_logs();
  // We turned the perf map on (NODE_OPTIONS reaches the node processes the command starts too); do
  // not leave the maps growing in /tmp.
  if (cfg.perf_map && !cfg.keep_perf_map)
    for (pid_t pid : pids) ::unlink(("/tmp/perf-" + std::to_string(pid) + ".map").c_str());
}

std::vector<pid_t> recorded_pids(ProcessTree& tree, pid_t root) {
  std::vector<pid_t> pids{root};
  for (const auto& p : tree.processes())
    if (p.pid != root) pids.push_back(p.pid);
  return pids;
}

// One program's profile, with the metadata a recording of it alone would carry.
// `shared_lost`: samples lost from rings the process shared with others (the launched process's
// recording carries the tree sampler's).
FinishedProfile finish_process(TracedProcess& p, const RecordConfig& cfg, bool target_exited, uint64_t shared_lost = 0) {
  Recorder& rec = *p.rec;
  const auto& st = rec.stats();
  profile::BuildInfo info;
  info.thread_names = rec.thread_names();
  info.period_ns = 1'000'000'000LL / cfg.sampling.frequency_hz;
  info.time_nanos = p.start_real;
  info.main_binary = p.exe;
  info.duration_nanos = p.elapsed.count();
  profile::RecordingInfo ri;
  ri.tool = "loopperf " LOOPPERF_VERSION;
  ri.mode = cfg.sampling.wall ? "wall" : "cpu";
  ri.pid = p.pid;
  ri.cmdline = p.cmdline;
  ri.is_node = p.is_node;
  ri.node_version = p.node_version.valid() ? p.node_version.get() : std::string();
  ri.rate_hz = cfg.sampling.frequency_hz;
  ri.samples = rec.samples();
  ri.lost = st.lost + shared_lost;
  ri.threads = st.threads_seen;
  ri.threads_skipped = st.threads_skipped;
  ri.stacks_overflowed = rec.stacks().overflowed();
  ri.kernel_frames = rec.kernel_frames();  // what was recorded: the fallback may have turned them off
  ri.unwind = unwind::unwind_mode_name(cfg.sampling.unwind);
  ri.perf_map = perf_map_info(rec.symbolizer().perf_map_status());
  ri.target_exited = target_exited || p.exited;
  return rec.finish_profile(std::move(info), std::move(ri));
}

// The recording's profile: the root's alone, or every process's merged (profile/processes.h), the
// launched process's current program first and the programs it ran before under the same pid.
// `warnings`: each process's end-of-run warnings (run_warnings.h), the launched process's first.
Result<FinishedProfile> finish_tree(ProcessTree& tree, const RecordConfig& cfg, bool target_exited,
                                    std::vector<std::pair<pid_t, std::vector<RunWarning>>>& warnings) {
  std::vector<TracedProcess>& procs = tree.processes();
  TracedProcess& root = tree.root();
  const auto warnings_of = [&](const TracedProcess& p, const FinishedProfile& f) {
    RunWarningContext ctx;
    ctx.pid = p.pid;
    ctx.is_node = p.is_node;
    ctx.launch = !cfg.command.empty();
    ctx.js_names = cfg.sampling.js_names;
    auto w = run_warnings(*p.rec, f, ctx);
    if (!w.empty()) warnings.emplace_back(p.pid, std::move(w));
  };
  FinishedProfile fin = finish_process(root, cfg, target_exited, tree.tree_lost());
  warnings_of(root, fin);
  const auto tree_counts = [&tree](profile::Profile& p) {
    if (!tree.follows()) return;
    p.set_meta("processes.missed", std::to_string(tree.missed()));
    p.set_meta("processes.events_lost", std::to_string(tree.events_lost()));
    if (tree.samples_tree()) p.set_meta("processes.samples_unrecorded", std::to_string(tree.unrecorded_samples()));
  };
  if (procs.size() == 1) {
    tree_counts(fin.profile);
    return fin;
  }
  std::vector<profile::ProcessPart> parts;
  parts.push_back({root.pid, std::move(fin.profile)});
  for (auto& p : procs) {
    if (&p == &root) continue;
    FinishedProfile f = finish_process(p, cfg, false);
    warnings_of(p, f);
    parts.push_back({p.pid, std::move(f.profile)});
  }
  for (auto& part : parts) {
    // How much of each program's start the recording missed: its recorder began after the exec
    // (launch mode's root is held before it and misses nothing; a tree sampler misses nothing of
    // any program).
    for (const auto& p : procs)
      if (p.pid == part.pid && !p.superseded && !p.rec->options().fed && p.exec_mono && p.start_mono > p.exec_mono)
        part.profile.set_meta("target.start_delay_ms", std::to_string((p.start_mono - p.exec_mono) / 1'000'000));
  }
  auto merged = profile::merge_processes(std::move(parts));
  if (!merged) return merged.error();
  fin.profile = std::move(*merged);
  tree_counts(fin.profile);
  return fin;
}

}  // namespace

Result<int> run_record(const RecordConfig& cfg, const SessionHooks& hooks) {
  const bool launch = !cfg.command.empty();

  // Output checks come first: a typo in -o must not cost a recording.
  std::string output = cfg.output;
  if (!output.empty()) {
    if (auto st = check_output_writable(output); !st) return st.error();
    auto fmt = formats::output_format_for(output);
    if (!fmt) return fmt.error();
  } else if (auto st = check_output_writable("./profile.pb.gz"); !st) {
    return make_error(ErrorCode::kOutput, "the current directory is not writable for the default output name",
                      "choose a path with -o");
  }

  // Kept back while sampling takes every descriptor it can (one per thread, more per node thread),
  // given back before the file is written: the output, its rescue and the symbol files need them.
  FdReserve fd_reserve(static_cast<int>(std::min<uint64_t>(16, fd_limit() / 4)));
  const uint64_t fd_shortages_before = fd_shortages();
  process::LaunchedChild child;
  TempDir v8_log_dir;
  pid_t pid = cfg.pid;
  pid_t proc_pid = 0;  // what the recorder reads /proc and memory through (ProcessInfo::proc_pid)
  std::string cmdline;
  std::string exe;
  bool is_node = false;
  if (launch) {
    process::LaunchOptions lo;
    lo.argv = cfg.command;
    lo.perf_map = cfg.perf_map;
    lo.v8_log_dir = v8_log_dir.path;
    if (auto st = child.start(lo); !st) return st.error();
    pid = proc_pid = child.pid();
    for (const auto& a : cfg.command) cmdline += (cmdline.empty() ? "" : " ") + a;
  } else {
    auto info = inspect_target(pid);
    if (!info) return info.error();
    cmdline = info->cmdline_string();
    exe = info->exe;
    is_node = info->is_node;
    proc_pid = info->proc_pid;
    if (proc_pid != pid)
      log::info(leader_exited_note(*info));
    else if (!is_node)
      log::info("note: pid " + std::to_string(pid) + " (" + info->comm +
                ") does not look like node: recording a native profile (no JavaScript names or loop phases)");
  }
  if (output.empty()) output = default_output_name(pid, std::time(nullptr));

  // The process tree: the command's, followed from before its first exec (launch mode), or the
  // running target's descendants (--children). Its cpu samples too: inherited events, one per CPU
  // (and, for a running tree, per thread), sample every process of it from its first instruction
  // (sample/tree_sampler.h).
  std::optional<sample::ProcessEvents> tree_events;
  std::unique_ptr<sample::TreeSampler> tree_sampler;
  const auto abandon_child = [&] {
    if (!launch) return;
    child.signal(SIGKILL);  // never exec'd: nothing of the user's has run yet
    child.wait();
  };
  if (cfg.follow_children) {
    auto ev = sample::ProcessEvents::open(pid);
    if (ev)
      tree_events = std::move(*ev);
    else
      log::warn(std::string("only the ") + (launch ? "launched" : "attached") +
                    " process is recorded, not the processes it starts: " + ev.error().message,
                ev.error().hint);
  }
  // A running tree: its threads need one event per CPU each (launch mode's child, one thread, needs
  // one per CPU for the whole tree). Within half the descriptors it may have, its processes are
  // sampled from the tree's events too, and the processes they start from their first instruction.
  bool tree_sampling = launch;
  if (!launch && tree_events) {
    sample::prepare_sampling_thread();  // the descriptor limit raised first
    const size_t cpus = static_cast<size_t>(std::max(1L, ::sysconf(_SC_NPROCESSORS_CONF)));
    const size_t threads = ProcessTree::running_tree_threads(pid);
    tree_sampling = threads * cpus <= fd_limit() / 2;
    if (!tree_sampling)
      log::info("note: the running tree has " + std::to_string(threads) + " threads on " + std::to_string(cpus) +
                " CPUs: each process is sampled by its own per-thread events, and the processes it starts from "
                "a little after their exec (raise `ulimit -n` to " + std::to_string(threads * cpus * 2) +
                " to sample them from their first instruction)");
  }
  if (tree_sampling && tree_events) {
    auto ts = sample::TreeSampler::open(proc_pid, ProcessTree::sampler_config(cfg.sampling),
                                        launch ? sample::TreeSampler::Start::kAtExec
                                               : sample::TreeSampler::Start::kWhenEnabled);
    if (ts) {
      tree_sampler = std::move(*ts);
    } else if (ts.error().code == ErrorCode::kPermission) {
      abandon_child();
      return ts.error();  // the recorder's own events would be refused the same way
    } else {
      log::warn(std::string(launch ? "the processes the command starts" : "the processes the target starts") +
                    " are sampled from when loopperf finds them, not from their exec: " + ts.error().message,
                ts.error().hint);
    }
  }

  RecorderOptions ro = cfg.sampling;
  ro.pid = proc_pid;
  ro.defer_sampling = !launch;
  if (tree_sampler) {
    ro.fed = true;
    ro.kernel = tree_sampler->event().kernel;
  }
  auto recorder = Recorder::create(ro);
  if (!recorder) {
    abandon_child();
    return recorder.error();
  }
  ProcessTree tree(cfg.sampling, std::move(tree_events), std::move(tree_sampler));
  if (child.flags_in_argv()) tree.set_launch_flags(v8_log_dir.path);

  if (launch) {
    if (auto st = child.release(); !st) return st.error();
    // Its exec, seen by the tree's events, says when /proc shows the program rather than loopperf.
    tree.wait_for_root_exec(pid, std::chrono::milliseconds(1000));
    if (auto info = inspect_target(pid)) {
      exe = info->exe;
      is_node = info->is_node;  // after exec: also right for renamed node binaries; wrappers exec node later
    }
  }
  // Asked of the target's executable (a separate short-lived process), never of the target. Node
  // takes ~40 ms to answer, using a CPU meanwhile: in attach mode before the sampling begins (its
  // rings would fill), in launch mode beside it (the program runs from the exec on).
  auto ask_version = [is_node, pid] { return is_node ? process::node_version(pid) : std::string(); };
  {
    TracedProcess root;
    root.pid = pid;
    root.rec = std::move(recorder.value());
    root.exe = exe;
    root.cmdline = cmdline;
    root.is_node = is_node;
    root.node_version = std::async(launch ? std::launch::async : std::launch::deferred, ask_version);
    if (!launch) root.node_version.wait();
    root.rec->start(exe, is_node);
    // The recording's window (-d) begins with the sampling: at the end of start() in attach mode.
    root.start = Clock::now();
    root.start_real = realtime_ns();
    tree.add_root(std::move(root));
  }
  if (!launch && cfg.follow_children) tree.adopt_running_tree();
  const auto start = tree.root().start;
  for (const auto& w : tree.root().rec->warnings()) log::warn(w);

  auto last_status = start;
  const process::ExitWatch target_exit(pid);
  bool target_exited = false;
  bool interrupted = false;
  // Memory running out while sampling (`ulimit -v`, a cgroup's limit) ends the sampling, not the
  // recording: what was collected is written, and the exit status says why (7).
  bool out_of_memory = false;
  try {
    for (;;) {
      auto now = Clock::now();
      if (cfg.duration && now - start >= *cfg.duration) break;
      StopRequest sig = hooks.take_stop_request ? hooks.take_stop_request() : StopRequest{};
      if (sig.signo) {
        if (launch) {
          // The terminal already delivered Ctrl-C to the child (same process group); forward only
          // what was sent to us alone. Then keep recording until the child exits.
          if (!sig.from_terminal) child.signal(sig.signo);
        } else {
          interrupted = true;
          break;
        }
      }
      if (launch ? child.poll_exit() : target_exit.exited()) {
        target_exited = true;
        break;
      }
      tree.update();
      tree.step(std::chrono::milliseconds(tree.processes().size() > 1 ? 20 : 50));
      now = Clock::now();
      if (hooks.progress && now - last_status >= std::chrono::milliseconds(250)) {
        hooks.progress(Progress{pid, now - start, tree.samples(), tree.threads_active(), tree.lost_samples()});
        last_status = now;
      }
    }
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
    log::warn("out of memory while recording: sampling stopped; writing what was collected");
  } catch (const std::system_error& e) {
    // A thread that could not be started meanwhile (a recorder's, for a process the command started).
    if (!out_of_resources(e.code())) throw;
    out_of_memory = true;
    log::warn(std::string("out of resources while recording (") + e.what() + "): sampling stopped; writing what was collected");
  }
  const auto elapsed = Clock::now() - start;
  tree.update();  // the exits that came with the end
  tree.stop_all();
  if (hooks.stopped) hooks.stopped();

  fd_reserve.release();
  Recorder& rec = *tree.root().rec;
  const auto sym_start = Clock::now();
  std::vector<std::pair<pid_t, std::vector<RunWarning>>> process_warnings;
  auto finished = finish_tree(tree, cfg, target_exited, process_warnings);
  if (!finished) {
    if (launch) finish_launch(child, cfg, recorded_pids(tree, pid));
    return finished.error();
  }
  FinishedProfile& fin = *finished;
  auto written = write_or_rescue(fin.profile, output, pid);
  const auto sym_elapsed = Clock::now() - sym_start;
  if (!written) {
    if (launch) finish_launch(child, cfg, recorded_pids(tree, pid));
    return written.error();
  }

  if (target_exited && !launch) log::info("the target exited during the recording; the profile holds what was seen");
  for (const auto& w : tree.warnings()) log::warn(w);
  if (tree.events_lost() > 0)
    log::warn(std::to_string(tree.events_lost()) + " process starts or exits were not seen (the kernel dropped them)",
              "processes started then may be missing from the profile");
  // Each process's own: a program that ran beside the launched one is said with its pid.
  for (const auto& w : tree_warnings(process_warnings)) log::warn(w.text, w.hint);
  if (tree.lost_samples() > 0)
    log::warn(std::to_string(tree.lost_samples()) + " samples were lost (ring buffer full)", "lower the rate with -F");
  // The count the profile, its metadata and `report` show. In wall mode, which part is wall.
  uint64_t samples = 0, wall_samples = 0, threads = 0;
  for (auto& p : tree.processes()) {
    samples += p.rec->samples();
    wall_samples += p.rec->wall_samples();
    threads += p.rec->stats().threads_seen;
  }
  std::string wall_part;
  if (cfg.sampling.wall)
    wall_part = " (" + std::to_string(samples - wall_samples) + " cpu, " + std::to_string(wall_samples) +
                " wall: the loop threads off the CPU)";
  const size_t nproc = tree.process_count();
  const std::string procs_part = nproc > 1 ? ", " + std::to_string(nproc) + " processes" : std::string();
  char summary[896];
  std::snprintf(summary, sizeof summary, "%llu samples%s, %llu threads%s, %llu lost, %s%s -> %s (symbolized in %s)",
                static_cast<unsigned long long>(samples), wall_part.c_str(), static_cast<unsigned long long>(threads),
                procs_part.c_str(), static_cast<unsigned long long>(tree.lost_samples()),
                format_duration(elapsed).c_str(), interrupted ? " (interrupted)" : "", output.c_str(),
                format_duration(sym_elapsed).c_str());
  log::info(summary);
  // Wall mode where another tracer held every loop thread and nothing ran on a CPU: the file is
  // written, but an empty profile must not look like a quiet target.
  if (cfg.sampling.wall && samples == 0 && !rec.wall_refused().empty())
    return make_error(ErrorCode::kPermission,
                      "no samples: the loop threads could not be stopped for wall samples (another tracer holds "
                      "them) and did not run on a CPU; " + output + " is written but empty",
                      "detach the other tracer (gdb, strace, another profiler), or record in cpu mode");
  // Descriptors ran out (threads not sampled, loop health or names not set up): the profile holds
  // what could be recorded, and the status says it is partial.
  if (const uint64_t short_by = fd_shortages() - fd_shortages_before; short_by > 0) {
    if (launch) finish_launch(child, cfg, recorded_pids(tree, pid));
    return make_error(ErrorCode::kResource,
                      "ran out of file descriptors (ulimit -n is " + std::to_string(fd_limit()) + "; " +
                          std::to_string(short_by) + " opens refused): " + output +
                          " holds what could be recorded with the rest",
                      "raise `ulimit -n` (loopperf needs one per thread of the target, four more per node thread "
                      "for loop health, and some for symbol files)");
  }
  if (out_of_memory) {
    if (launch) finish_launch(child, cfg, recorded_pids(tree, pid));
    return make_error(ErrorCode::kResource,
                      "out of memory during the recording: " + output + " holds what was collected until then",
                      "raise the memory limit (ulimit -v, the container's), or record for less time (-d) or at a lower rate (-F)");
  }
  if (!launch) return 0;
  // The profile is written and summarized; launch mode then waits for its child (after -d it keeps
  // running) and exits with its status.
  finish_launch(child, cfg, recorded_pids(tree, pid));
  if (child.status_lost())
    log::warn("the program's exit status is unknown (its exit was collected by another wait in loopperf)",
              "exiting with status 1; record without --mode wall when the exit status matters");
  return child.exit_status();
}

}  // namespace loopperf::record
