// `loopperf dump -p PID`: every thread's stack right now. Each thread is stopped with ptrace only
// while its own stack is read (PTRACE_SEIZE + PTRACE_INTERRUPT, never SIGSTOP), then detached.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "commands.h"
#include "loopperf/common/duration.h"
#include "loopperf/loop/classifier.h"
#include "loopperf/loop/uv_run_phases.h"
#include "loopperf/process/process.h"
#include "loopperf/process/ptrace_stop.h"
#include "loopperf/process/target_files.h"
#include "loopperf/profile/builder.h"
#include "loopperf/report/dump.h"
#include "loopperf/unwind/hybrid.h"

namespace loopperf::cli {

namespace {

struct DumpArgs {
  std::string pid;
  bool json = false;
};

// Ctrl-C / SIGTERM must not interrupt us between stop and detach: they are held while a thread is
// stopped and take effect right after.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalsHeld() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

Result<int> run_dump(const DumpArgs& args) {
  auto pid_num = parse_int(args.pid, 1, 4194304, "pid");
  if (!pid_num) return pid_num.error();
  pid_t pid = static_cast<pid_t>(*pid_num);
  if (pid == ::getpid()) return make_error(ErrorCode::kUsage, "refusing to dump loopperf itself");
  auto info = process::inspect(pid);
  if (!info) return info.error();

  // Everything that needs no stop is prepared first, so threads are held only for their own walk.
  auto files = std::make_shared<process::TargetFiles>(pid);  // one registry for symbolizer and unwinder
  symbols::ProcessSymbolizer symbolizer(files);
  symbolizer.refresh();
  unwind::ModuleMap modules(files, info->is_node ? info->exe : std::string());
  modules.refresh();
  unwind::HybridUnwinder unwinder(modules);
  const char* hold_file = std::getenv("LOOPPERF_DUMP_TEST_HOLD");  // test hook: see tests/integration/dump.test.js

  report::Dump dump;
  dump.pid = pid;
  dump.cmdline = info->cmdline_string();
  profile::StackTable stacks;
  std::map<pid_t, report::DumpThread> threads;
  std::map<pid_t, std::string> names;
  std::vector<unwind::Frame> frames;
  for (pid_t tid : process::list_threads(pid)) {
    report::DumpThread& t = threads[tid];
    t.tid = tid;
    t.name = names[tid] = process::thread_name(pid, tid);
    frames.clear();
    unwind::EndReason end;
    {
      SignalsHeld held;
      auto stop = process::PtraceStop::stop(tid);
      if (!stop) {
        if (stop.error().code == ErrorCode::kPermission) return stop.error();
        t.error = stop.error().message;
        continue;
      }
      if (hold_file) {
        std::ofstream(hold_file) << tid << "\n";
        std::this_thread::sleep_for(std::chrono::seconds(10));
      }
      unwind::LiveMemory memory(pid);
      end = unwinder.unwind(unwind::user_regs_from_ptrace(stop->regs()), memory, {}, frames);
      if (stop->syscall() >= 0) t.syscall = process::syscall_name(stop->syscall());
      stop->detach();
      t.stopped_ns = stop->stopped_for().count();
    }
    t.unwind_end = unwind::end_reason_name(end);
    dump.max_stopped_ns = std::max(dump.max_stopped_ns, t.stopped_ns);
    dump.total_stopped_ns += t.stopped_ns;
    stacks.add(tid, frames, 1);
  }

  // Symbolize and classify exactly as record does.
  profile::BuildInfo bi;
  bi.thread_names = names;
  bi.period_ns = 1;
  profile::Profile prof = profile::build_profile(stacks, symbolizer, bi);
  loop::UvRunPhases phases(prof, symbolizer);
  loop::label_profile(prof, pid, phases.as_fn());
  if (info->is_node) dump.node_version = process::node_version(pid);
  for (const auto& s : prof.samples) {
    auto it = threads.find(static_cast<pid_t>(s.num_label("tid").value_or(0)));
    if (it == threads.end()) continue;
    it->second.role = std::string(s.str_label("role"));
    it->second.phase = std::string(s.str_label("phase"));
    it->second.activity = std::string(s.str_label("activity"));
    it->second.frames = report::stack_frames(prof, s);
  }
  // Loop threads first, then by tid.
  for (auto& [tid, t] : threads) dump.threads.push_back(std::move(t));
  std::stable_sort(dump.threads.begin(), dump.threads.end(), [](const auto& a, const auto& b) {
    bool la = a.role == "main-loop" || a.role == "worker-loop", lb = b.role == "main-loop" || b.role == "worker-loop";
    return la != lb ? la : a.tid < b.tid;
  });
  std::string text = args.json ? report::render_dump_json(dump) : report::render_dump_text(dump);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace

Command register_dump(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  auto* sub = app.add_subcommand("dump", "Every thread's stack right now, with loop phase and activity (uses ptrace)");
  sub->add_option("-p,--pid", args->pid, "Process id")->required();
  sub->add_flag("--json", args->json, "JSON output (docs/dump.md)");
  return Command{sub, [args](const CommandContext&) { return run_dump(*args); }};
}

}  // namespace loopperf::cli
