// take_dump (dump.h): stop each thread in turn, unwind it from live memory, detach; then symbolize
// and label all stacks at once.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include "loopperf/common/log.h"
#include "loopperf/common/syscalls.h"
#include "loopperf/profile/labels.h"
#include "loopperf/process/process.h"
#include "loopperf/process/ptrace_stop.h"
#include "loopperf/process/target_files.h"
#include "loopperf/record/dump.h"
#include "loopperf/record/finish.h"
#include "loopperf/record/node_target.h"
#include "loopperf/unwind/hybrid.h"
#include "loopperf/v8/stack_namer.h"

namespace loopperf::record {

namespace {

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

}  // namespace

Result<report::Dump> take_dump(const DumpConfig& cfg) {
  const pid_t pid = cfg.pid;
  auto info = inspect_target(pid);
  if (!info) return info.error();
  const pid_t proc_pid = info->proc_pid;  // pid, or a live thread when the leader has exited
  if (proc_pid != pid) log::info(leader_exited_note(*info));

  // Everything that needs no stop is prepared first, so threads are held only for their own walk.
  auto files = std::make_shared<process::TargetFiles>(proc_pid);  // one registry for symbolizer and unwinder
  symbols::ProcessSymbolizer symbolizer(files);
  symbolizer.set_js_names(cfg.js_names, nullptr);
  symbolizer.refresh();
  std::unique_ptr<v8::StackNamer> js_namer;
  std::string js_problem;
  if (info->is_node && symbols::uses_heap(cfg.js_names)) {
    auto namer = v8::StackNamer::create(symbolizer, v8::v8_binary(*files, info->exe), files);
    if (namer) {
      js_namer = std::move(namer.value());
      js_namer->prepare();  // not while a thread is held
      symbolizer.set_js_names(cfg.js_names, js_namer.get());
    } else {
      js_problem = namer.error().message;
    }
  }
  unwind::ModuleMap modules(files, info->is_node ? info->exe : std::string());
  modules.refresh();
  unwind::HybridUnwinder unwinder(modules);

  report::Dump dump;
  dump.pid = pid;
  dump.cmdline = info->cmdline_string();
  profile::StackTable stacks;
  std::map<pid_t, report::DumpThread> threads;
  std::map<pid_t, std::string> names;
  std::vector<profile::Frame> frames;
  for (pid_t tid : process::list_threads(pid)) {
    report::DumpThread& t = threads[tid];
    t.tid = tid;
    t.name = names[tid] = process::thread_name(pid, tid);
    frames.clear();
    unwind::EndReason end;
    if (tid == pid && proc_pid != pid) {
      t.error = "exited (the leader, a zombie while the other threads run)";
      continue;
    }
    {
      SignalsHeld held;
      auto stop = process::PtraceStop::stop(tid);
      if (!stop) {
        if (stop.error().code == ErrorCode::kPermission) return stop.error();
        t.error = stop.error().message;
        continue;
      }
      if (cfg.while_stopped) cfg.while_stopped(tid);
      unwind::LiveMemory memory(proc_pid);
      const unwind::UserRegs regs = unwind::user_regs_from_ptrace(stop->regs());
      end = unwinder.unwind(regs, memory, {}, frames);
      // Named before the thread runs again: its frames and the objects they point to hold still.
      if (js_namer) js_namer->name(frames, regs, memory, false);
      if (stop->syscall() >= 0) t.syscall = syscall_name(stop->syscall());
      stop->detach();
      t.stopped_ns = stop->stopped_for().count();
    }
    t.unwind_end = unwind::end_reason_name(end);
    dump.max_stopped_ns = std::max(dump.max_stopped_ns, t.stopped_ns);
    dump.total_stopped_ns += t.stopped_ns;
    stacks.add(tid, frames, 1);
  }

  // Symbolize and classify exactly as record does.
  FinishOptions fo;
  fo.pid = pid;
  fo.is_node = info->is_node;
  fo.build.thread_names = names;
  fo.build.period_ns = 1;
  const profile::Profile prof = finish_profile(stacks, symbolizer, std::move(fo)).profile;
  if (info->is_node) dump.node_version = process::node_version(pid);
  if (info->is_node) {
    const bool map = symbols::uses_perf_map(cfg.js_names) && symbolizer.perf_map_status().found;
    if (js_namer) dump.js_names = "heap (V8 " + js_namer->reader().layout().version.str() + ")" + (map ? " and perf map" : "");
    else if (map) dump.js_names = "perf map" + (js_problem.empty() ? "" : " (heap: " + js_problem + ")");
    else dump.js_names = js_problem.empty() ? "none" : "none (heap: " + js_problem + ")";
  }
  for (const auto& s : prof.samples) {
    auto it = threads.find(static_cast<pid_t>(s.num_label("tid").value_or(0)));
    if (it == threads.end()) continue;
    it->second.role = std::string(s.str_label(profile::kRoleLabel));
    it->second.phase = std::string(s.str_label(profile::kPhaseLabel));
    it->second.activity = std::string(s.str_label(profile::kActivityLabel));
    it->second.frames = report::stack_frames(prof, s);
  }
  // Loop threads first, then by tid.
  for (auto& [tid, t] : threads) dump.threads.push_back(std::move(t));
  std::stable_sort(dump.threads.begin(), dump.threads.end(), [](const auto& a, const auto& b) {
    auto loop_thread = [](const report::DumpThread& t) {
      auto role = profile::parse_role(t.role);
      return role && profile::is_loop_role(*role);
    };
    const bool la = loop_thread(a), lb = loop_thread(b);
    return la != lb ? la : a.tid < b.tid;
  });
  return dump;
}

Result<std::vector<report::Dump>> take_dumps(const DumpConfig& cfg, std::vector<std::string>& skipped) {
  std::vector<report::Dump> out;
  auto first = take_dump(cfg);
  if (!first) return first.error();
  out.push_back(std::move(first.value()));
  for (pid_t pid : process::list_descendants(cfg.pid)) {
    DumpConfig one = cfg;
    one.pid = pid;
    auto d = take_dump(one);
    if (d) out.push_back(std::move(d.value()));
    else skipped.push_back("process " + std::to_string(pid) + ": " + d.error().message);
  }
  return out;
}

}  // namespace loopperf::record
