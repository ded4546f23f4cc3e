#include "loopperf/common/duration.h"
#include "loopperf/record/recorder.h"

#include <malloc.h>
#include <poll.h>
#include <time.h>

#include <algorithm>

#include "loopperf/common/fs.h"
#include "loopperf/common/syscalls.h"
#include "loopperf/common/log.h"
#include "loopperf/loop/rules.h"
#include "loopperf/loop/uv_run_phases.h"
#include "loopperf/process/process.h"
#include "loopperf/unwind/callchain.h"

namespace loopperf::record {

namespace {

using Clock = std::chrono::steady_clock;

// The wall time naming stacks from the heap may take: a quarter, in bursts of up to 250 ms.
constexpr double kJsNamesShare = 0.25;
constexpr uint64_t kJsNamesBurstNs = 250'000'000;

// Blocked in its poll wait right now? (/proc/PID/task/TID/syscall: "281 0xe ..." for epoll_pwait,
// the first argument being the epoll fd.) Returns the fd, or -1 when not waiting.
// The epoll fd and events buffer of the poll wait the thread is blocked in, or {-1, 0}.
std::pair<int, uint64_t> waiting_in_poll(pid_t pid, pid_t tid) {
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  if (!text) return {-1, 0};
  char* end = nullptr;
  long nr = std::strtol(text->c_str(), &end, 10);
  if (!is_epoll_wait(nr)) return {-1, 0};
  int epfd = static_cast<int>(std::strtol(end, &end, 16));
  uint64_t frame = std::strtoull(end, nullptr, 16);
  return {epfd, frame};
}

}  // namespace

void feed_poll_event(loop::LoopHealthTracker& health, const sample::PollEvent& e) {
  if (e.gap) health.poll_gap(e.tid, e.time_ns);
  else if (e.enter) health.poll_enter(e.tid, e.time_ns, e.epfd, e.frame);
  else health.poll_exit(e.tid, e.time_ns, e.epfd, e.frame);
}

Recorder::Recorder(const RecorderOptions& opts, SavedSources saved)
    : opts_(opts),
      stacks_(opts.max_stacks),
      files_(saved.files ? saved.files : std::make_shared<process::TargetFiles>(opts.pid)),
      symbolizer_(saved.files ? std::make_unique<symbols::ProcessSymbolizer>(files_, saved.perf_map, saved.kallsyms)
                              : std::make_unique<symbols::ProcessSymbolizer>(files_)),
      // The first compaction well before the distinct-stack limit, so that it can make room.
      compactor_(*symbolizer_, stacks_, std::clamp<size_t>(opts.max_stacks / 2, 1000, 20000)) {}

std::unique_ptr<Recorder> Recorder::for_replay(const RecorderOptions& opts, SavedSources sources) {
  return std::unique_ptr<Recorder>(new Recorder(opts, std::move(sources)));
}

Recorder::~Recorder() {
  if (wall_) wall_->stop();
}

void Recorder::trim_memory() {
  symbolizer_->drop_file_pages();
  if (js_namer_) js_namer_->binary().drop_pages();
  ::malloc_trim(0);
}

void Recorder::capture(const std::set<pid_t>& tids) {
  if (tids == captured_) return;
  if (sampler_) {
    for (pid_t tid : captured_)
      if (!tids.count(tid)) sampler_->set_rate(tid, 0);
    for (pid_t tid : tids)
      if (!captured_.count(tid)) sampler_->set_rate(tid, opts_.frequency_hz);
  }
  captured_ = tids;
  if (!wall_ || !opts_.wall_on_demand) return;
  wall_threads_.clear();
  for (pid_t tid : tids)
    if (!wall_refused_.count(tid)) wall_threads_.insert(tid);
  wall_->set_threads(wall_threads_);
  // The wall sampler's thread ticks at the full rate: only while there is something to sample.
  if (!wall_threads_.empty() && !wall_running_) {
    wall_->start();
    wall_running_ = true;
  } else if (wall_threads_.empty() && wall_running_) {
    wall_->stop();
    wall_running_ = false;
  }
}

sample::EventConfig cpu_event_config(const RecorderOptions& opts) {
  sample::EventConfig ev;
  ev.frequency_hz = opts.idle_frequency_hz ? opts.idle_frequency_hz : opts.frequency_hz;
  ev.kernel = opts.kernel;
  // Heap names read each JavaScript frame's slots from the sample's stack copy, in fp mode too.
  if (opts.unwind != unwind::UnwindMode::kFp || symbols::uses_heap(opts.js_names)) {
    ev.user_regs_and_stack = true;
    ev.regs_mask = unwind::kSampledRegsMask;
    ev.stack_bytes = opts.stack_bytes;
    // Room for 32 samples with their stack copies per thread, or ~25 ms of them at high rates
    // (4999 Hz: 125, a 2 MB ring), drained at a quarter full. 32 at 999 Hz is ~60 samples in 512 KB.
    const size_t room = std::max<size_t>(32, static_cast<size_t>(opts.frequency_hz) / 40);
    // At most 1 MiB per thread (the 32 KiB copies of heap-name recordings would ask for 2): drained
    // at a quarter full, that is still 8 samples, 8 ms at 999 Hz.
    size_t pages = 16;
    while (pages * 4096 < room * (opts.stack_bytes + 1024ull) && pages < 256) pages *= 2;
    ev.ring_pages = pages;
    // The main thread's ring is twice that (2 MiB at most: 62 samples of 32 KiB, ~60 ms at 999 Hz):
    // its loop is what most recordings are for, and one ring more costs little whatever the
    // number of threads.
    ev.main_ring_pages = std::min<size_t>(pages * 2, 512);
  }
  return ev;
}

Result<std::unique_ptr<Recorder>> Recorder::create(const RecorderOptions& opts) {
  std::unique_ptr<Recorder> r(new Recorder(opts, {}));
  if (opts.fed) return r;  // its samples come from the process tree's events
  sample::SamplerConfig sc;
  sc.pid = opts.pid;
  sc.event = cpu_event_config(opts);
  sc.max_threads = opts.max_threads;
  sc.deferred = opts.defer_sampling;
  Recorder* raw = r.get();
  auto sampler = sample::Sampler::create(sc, [raw](const sample::RawSample& s) { raw->on_cpu_sample(s); });
  if (!sampler) return sampler.error();
  r->sampler_ = std::move(sampler.value());
  return r;
}

void Recorder::start(const std::string& exe, bool is_node) {
  opts_.is_node = is_node;
  exe_ = exe;
  started_ = last_scan_ = last_refresh_ = Clock::now();
  start_ns_ = monotonic_ns();
  const std::string fp_binary = opts_.is_node ? exe : std::string();
  symbolizer_->set_js_names(opts_.js_names, nullptr);
  symbolizer_->refresh();
  if (is_node) libnode_ = process::libnode_path(files_->maps());
  if (opts_.kernel) symbolizer_->preload_kernel_symbols();
  unwinder_ = std::make_unique<unwind::SampleUnwinder>(files_, opts_.unwind, fp_binary);
  // Loop health before names: it is cheap, and the loop's first turns come early in a process's life.
  if (opts_.loop_health && opts_.is_node) {
    sample::PollTracer::SignalFn on_signal;
    if (opts_.watch_signals)
      on_signal = [this](pid_t tid, uint64_t time_ns, int sig) {
        if (sink_) sink_->signal_delivered(tid, time_ns, sig);
      };
    auto tracer = sample::PollTracer::create(opts_.pid, [this](const sample::PollEvent& e) { on_poll_event(e); },
                                             std::move(on_signal));
    if (tracer) {
      tracer_ = std::move(tracer.value());
      // A recording without its own stack table (watch) measures loop health per incident, from its
      // sink's copy of the poll waits (incident.h): a tracker here would only cost.
      if (opts_.keep_stacks) health_ = std::make_unique<loop::LoopHealthTracker>(start_ns_, opts_.stall_threshold_ns);
    } else {
      warnings_.push_back("loop health (utilization, stalls) is not measured: " + tracer.error().message +
                          " — hint: " + tracer.error().hint);
    }
  }
  start_js_names();
  follow_new_threads();
  if (tracer_ && opts_.watch_signals && !tracer_->signal_problem().empty())
    warnings_.push_back("SIGTERM to the target will not be seen (signal:signal_deliver cannot be opened: " +
                        tracer_->signal_problem() + "); stalls are, and the target's exit is");
  if (opts_.wall) {
    wall_modules_ = std::make_unique<unwind::ModuleMap>(files_, fp_binary);
    wall_modules_->refresh();
    wall_unwinder_ = std::make_unique<unwind::HybridUnwinder>(*wall_modules_);
    wall_ = std::make_unique<sample::WallSampler>(opts_.pid, opts_.frequency_hz, opts_.wall_stack_bytes);
    if (!opts_.wall_on_demand) {
      wall_threads_.insert(opts_.pid);
      wall_->set_threads(wall_threads_);
      wall_->start();
      wall_running_ = true;
    }
  }
  if (sampler_) sampler_->start();  // a deferred sampler: from now on (RecorderOptions::defer_sampling)
}

void Recorder::start_replay(const std::string& exe, bool is_node, uint64_t start_ns, bool health) {
  opts_.is_node = is_node;
  exe_ = exe;
  start_ns_ = start_ns;
  const std::string fp_binary = opts_.is_node ? exe : std::string();
  // Heap names need the live heap: a replay names JavaScript frames from the saved perf map only.
  symbolizer_->set_js_names(opts_.js_names, nullptr);
  symbolizer_->refresh();
  unwinder_ = std::make_unique<unwind::SampleUnwinder>(files_, opts_.unwind, fp_binary);
  if (health) health_ = std::make_unique<loop::LoopHealthTracker>(start_ns_, opts_.stall_threshold_ns);
  if (opts_.wall) {
    wall_modules_ = std::make_unique<unwind::ModuleMap>(files_, fp_binary);
    wall_modules_->refresh();
    wall_unwinder_ = std::make_unique<unwind::HybridUnwinder>(*wall_modules_);
    wall_threads_.insert(opts_.pid);
  }
}

void Recorder::on_poll_event(const sample::PollEvent& e) {
  if (tap_) tap_->poll_event(e);
  if (sink_) sink_->poll_event(e);
  if (health_) feed_poll_event(*health_, e);
}

void Recorder::on_thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame, uint64_t since_ns) {
  if (tap_) tap_->thread_found(tid, loop_epfd, loop_frame, since_ns);
  if (sink_) sink_->thread_found(tid, loop_epfd, loop_frame);
  if (health_) health_->add_thread(tid, loop_epfd >= 0, loop_epfd, since_ns, loop_frame);
}

void Recorder::on_sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns) {
  if (tap_) tap_->sched_reading(tid, cpu_ns, run_delay_ns);
  if (health_) health_->sched_reading(tid, cpu_ns, run_delay_ns);
}

void Recorder::read_sched(pid_t tid) {
  if (auto s = process::sched_stat(opts_.pid, tid)) on_sched_reading(tid, s->cpu_ns, s->run_delay_ns);
}

void Recorder::on_thread_ended(pid_t tid, uint64_t time_ns) {
  if (tap_) tap_->thread_ended(tid, time_ns);
  if (sink_) sink_->thread_ended(tid);
  if (health_) health_->end_thread(tid, time_ns);
  if (wall_threads_.erase(tid) && wall_) wall_->set_threads(wall_threads_);
  if (gc_epochs_) gc_epochs_->forget(tid);
  if (js_namer_) js_namer_->forget_thread(tid);
}

void Recorder::on_health_flush(uint64_t now_ns) {
  if (tap_) tap_->health_flush(now_ns);
  if (health_) health_->flush(now_ns);
}

void Recorder::start_js_names() {
  if (!symbols::uses_heap(opts_.js_names)) return;
  if (!opts_.is_node) return;
  const std::string v8_path = v8::v8_binary(*files_, exe_);  // libnode.so or the executable
  auto namer = v8::StackNamer::create(*symbolizer_, v8_path, files_);
  if (!namer) {
    warnings_.push_back("JavaScript frames cannot be named from the target's heap: " + namer.error().message +
                        (opts_.js_names == symbols::JsNamesMode::kAuto
                             ? " — names come from V8's perf map alone (start node with --perf-basic-prof)"
                             : " — hint: use --js-names auto or map with node started with --perf-basic-prof"));
    return;
  }
  js_namer_ = std::move(namer.value());
  // Normally well under 10% of one core (docs/performance.md). Reading the target's memory waits for
  // its mmap lock, which a target that keeps creating threads or isolates holds for long stretches on a
  // busy machine: then stacks go unnamed rather than the recording falling behind (and overrunning -d).
  js_namer_->set_budget(TimeBudget(kJsNamesShare, kJsNamesBurstNs));
  symbolizer_->set_js_names(opts_.js_names, js_namer_.get());
  // Frames named once are named again without reading until their thread collects garbage.
  const v8::Layout& layout = js_namer_->reader().layout();
  // The uprobe's file, reached through the target's own view (its mount namespace).
  const std::string proc = "/proc/" + std::to_string(opts_.pid);
  auto epochs = v8::GcEpochs::create(opts_.pid, v8_path == exe_ ? proc + "/exe" : proc + "/root" + v8_path,
                                     layout.gc_begin ? js_namer_->binary().vaddr_to_file_offset(layout.gc_begin) : 0);
  if (epochs) {
    gc_epochs_ = std::move(epochs.value());
    js_namer_->set_gc_epochs(gc_epochs_.get());
  } else {
    gc_epochs_problem_ = epochs.error().message;
  }
}

uint64_t Recorder::heap_names_over_budget() const { return js_namer_ ? js_namer_->over_budget() : 0; }

void Recorder::on_thread_name(pid_t tid, const char* name) {
  auto [it, fresh] = fed_names_.insert_or_assign(tid, name);
  if (fresh) fed_stats_.threads_seen++;
}

void Recorder::on_cpu_sample(const sample::RawSample& s) {
  if (tap_) tap_->cpu_sample(s);
  if (opts_.fed) {
    fed_stats_.samples++;
    // A thread that has not said its name since it started is named by the one it has now, once.
    if (!fed_names_.count(s.tid)) on_thread_name(s.tid, process::thread_name(opts_.pid, s.tid).c_str());
  }
  // A fed sample of a period shorter than the recording's may count for none (sample_count): it is
  // not in the profile, as a sampler at the recording's rate would not have taken it.
  const uint64_t count = sample_count(s);
  if (count == 0) return;
  frames_.clear();
  bool cut_short = false;
  if (unwinder_) cut_short = unwind::cut_short(unwinder_->frames_for(s, frames_));
  else unwind::frames_from_callchain(s.ips, s.nr, frames_);
  if (js_namer_ && s.regs) {
    unwind::UserRegs regs = unwind::user_regs_from_sample(s);
    unwind::StackCopyMemory stack(regs.sp(), s.stack, s.stack ? s.stack_size : 0);
    const v8::SampleMoment at{s.tid, s.time_ns};
    js_namer_->name(frames_, regs, stack, true, &at);
  }
  note_worker_loop(s.tid, frames_);
  cpu_kept_ += count;
  // Without a stack table of its own (watch) there is nothing to keep small: an incident's table
  // holds a window's samples, and resolving every new address as it comes would cost all along.
  if (opts_.keep_stacks) compactor_.canonicalize(frames_);
  // Every count is one period of the recording's rate, its cpu value too: the per-thread sampler's
  // samples report the nominal period (jitter.h), and a fed sample's count stands for its own.
  const uint64_t period = opts_.fed ? count * nominal_period() : s.period;
  if (sink_) sink_->kept(KeptSample{s.tid, s.time_ns, frames_, {}, count, period, cut_short});
  if (!opts_.keep_stacks) return;
  uint32_t index = stacks_.add(s.tid, frames_, period, profile::StackTable::Tag{}, count);
  if (health_ && count) health_->sample(s.tid, s.time_ns, index, count, cut_short);
}

uint64_t Recorder::sample_count(const sample::RawSample& s) {
  // Every sample of a thread's own event is one period of the recording's rate (the jittered
  // periods average to it). A fed sample stands for the period its thread inherited when it was
  // forked (sample/tree_sampler.h: fixed for the thread's life, drawn from half to one and a half
  // times the recording's): it counts as that period in units of the recording's, rounded at
  // random (1.4 counts 1 or 2, 2 with probability 0.4; 0.7 counts 0 or 1), so that counts stay in
  // proportion to CPU time between threads as they are for threads sampled by their own events.
  // Not rounded in turn: a fixed period's samples walk through a periodic workload's cycle in step
  // with the fraction carried, and the rounded-down ones would be those at one point of the cycle.
  const uint64_t nominal = nominal_period();
  if (!opts_.fed || s.period == 0 || s.period == nominal) return 1;
  const double units = static_cast<double>(s.period) / static_cast<double>(nominal);
  const auto whole = static_cast<uint64_t>(units);
  return whole + (std::uniform_real_distribution<double>(0, 1)(rounding_) < units - static_cast<double>(whole) ? 1 : 0);
}

void Recorder::note_worker_loop(pid_t tid, const std::vector<profile::Frame>& frames) {
  // worker_threads threads run their own loop (the classifier's kWorkerLoop rule). A few samples of
  // each thread are enough to tell (their addresses are symbolized once, cached).
  if (!opts_.is_node || tid == opts_.pid) return;
  int& seen = probed_[tid];
  if (seen >= 20) return;
  seen++;
  for (const auto& f : frames) {
    if (f.kernel) continue;
    const auto& r = symbolizer_->resolve(f.addr, false);
    if (r.frames.empty() || !loop::has_fact(r.frames.back().name, loop::Fact::kWorkerLoop)) continue;
    seen = 1000;
    if (opts_.wall_on_demand) return;  // watch: wall samples only of what capture() names
    if (!wall_refused_.count(tid) && wall_threads_.insert(tid).second && wall_) wall_->set_threads(wall_threads_);
    return;
  }
}

void Recorder::take_wall_samples() {
  if (!wall_) return;
  for (auto& w : wall_->take()) on_wall_sample(w);
  // A thread another tracer holds cannot be stopped: say so at once; its cpu samples go on, and
  // its time off the CPU is not sampled.
  for (auto& [tid, why] : wall_->take_refused()) {
    wall_refused_.insert(tid);
    if (wall_threads_.erase(tid)) wall_->set_threads(wall_threads_);
    std::string holder;
    if (auto status = read_small_file("/proc/" + std::to_string(opts_.pid) + "/task/" + std::to_string(tid) + "/status")) {
      auto at = status->find("TracerPid:\t");
      long tracer = at == std::string::npos ? 0 : std::strtol(status->c_str() + at + 11, nullptr, 10);
      if (tracer > 0)
        holder = " (traced by " + process::thread_name(static_cast<pid_t>(tracer), static_cast<pid_t>(tracer)) +
                 ", pid " + std::to_string(tracer) + ")";
    }
    log::warn("thread " + std::to_string(tid) + " cannot be stopped for wall samples" + holder + ": " + why +
                  "; from now on it has only its cpu-clock samples (on the CPU; its waits are not sampled)",
              "detach the other tracer (gdb, strace, another profiler) to get wall samples of it");
  }
}

void Recorder::on_wall_sample(const sample::WallSample& w) {
  if (tap_) tap_->wall_sample(w);
  const int64_t period = 1'000'000'000LL / opts_.frequency_hz;
  unwind::UserRegs regs = unwind::user_regs_from_ptrace(w.regs);
  unwind::StackCopyMemory memory(w.regs.rsp, w.stack.data(), w.stack.size());
  frames_.clear();
  wall_unwinder_->unwind(regs, memory, {}, frames_);
  const v8::SampleMoment at{w.tid, w.time_ns};
  if (js_namer_) js_namer_->name(frames_, regs, memory, true, &at);
  profile::StackTable::Tag tag{true, w.syscall >= 0 ? static_cast<int32_t>(w.syscall) : -1};
  if (opts_.keep_stacks) compactor_.canonicalize(frames_);
  wall_kept_++;
  if (sink_) sink_->kept(KeptSample{w.tid, w.time_ns, frames_, tag, 1, static_cast<uint64_t>(period), false});
  if (!opts_.keep_stacks) return;
  uint32_t index = stacks_.add(w.tid, frames_, static_cast<uint64_t>(period), tag);
  if (health_) health_->sample(w.tid, w.time_ns, index, 1);
}

void Recorder::follow_new_threads() {
  std::vector<pid_t> alive = process::list_threads(opts_.pid);
  if (alive.empty()) return;  // unknown (process.h): nothing is taken for ended
  std::set<pid_t> alive_set(alive.begin(), alive.end());
  for (pid_t tid : alive) {
    if (!followed_.insert(tid).second) continue;
    if (opts_.fed && !fed_names_.count(tid)) on_thread_name(tid, process::thread_name(opts_.pid, tid).c_str());
    if (tracer_) tracer_->add_thread(tid);
    if (tracer_) {
      auto [epfd, frame] = waiting_in_poll(opts_.pid, tid);
      // A thread found after the start is followed from now on, not from the start.
      uint64_t since = monotonic_ns() - start_ns_ < 20'000'000 ? 0 : monotonic_ns();
      on_thread_found(tid, epfd, frame, since);
      // How long a loop waited for a CPU (report's hints): a few system calls per thread, not more.
      if (health_ && followed_.size() <= kMaxSchedThreads) read_sched(tid);
    }
  }
  for (auto it = followed_.begin(); it != followed_.end();) {
    if (alive_set.count(*it)) {
      ++it;
      continue;
    }
    if (tracer_) tracer_->remove_thread(*it);  // drains it, frees its fds
    on_thread_ended(*it, monotonic_ns());
    it = followed_.erase(it);
  }
  if (opts_.fed) fed_stats_.threads_active = followed_.size();
}

void Recorder::step(std::chrono::milliseconds timeout, const std::vector<int>& also_wake) {
  if (sampler_) {
    sampler_->poll(timeout, also_wake);
  } else if (timeout.count() > 0) {
    std::vector<pollfd> fds;
    for (int fd : also_wake) fds.push_back(pollfd{fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
  }
  if (tracer_) tracer_->drain();
  take_wall_samples();
  auto now = Clock::now();
  if (now - last_scan_ >= std::chrono::milliseconds(50)) {
    if (sampler_) sampler_->scan_threads();
    follow_new_threads();
    last_scan_ = now;
  }
  // Maps and the perf map are snapshotted while the target lives: it may be gone by the end.
  auto every = now - started_ < std::chrono::seconds(2) ? std::chrono::milliseconds(200) : std::chrono::milliseconds(1000);
  if (now - last_refresh_ >= every) {
    symbolizer_->refresh();
    if (unwinder_) unwinder_->refresh_modules();
    if (wall_modules_) wall_modules_->refresh();
    last_refresh_ = now;
  }
  if (health_) on_health_flush(monotonic_ns());
  // uv_run's call-site table (loop/uv_run_phases.h), built now rather than after the stop.
  if (!call_sites_ready_ && opts_.is_node && now - started_ >= std::chrono::seconds(1)) {
    call_sites_ready_ = true;
    if (symbols::ElfFile* elf = symbolizer_->elf_for(exe_)) (void)loop::call_sites_for(*elf);
  }
  // Keep the stack table small (stack_compactor.h): a little symbolization per step, and a
  // compaction when the table has doubled.
  compactor_.resolve_pending(std::chrono::milliseconds(2));
  auto remap = compactor_.maybe_compact();
  if (!remap.empty() && health_) health_->remap_stacks(remap);
  // Give freed memory back to the system: glibc returns only the top of its heap by itself, so the
  // holes a compaction or the symbolizer's work leave would otherwise add up over a long recording.
  if (!remap.empty() || now - last_trim_ >= std::chrono::seconds(10)) {
    ::malloc_trim(0);
    last_trim_ = now;
  }
}

void Recorder::stop(bool release) {
  if (health_ && followed_.size() <= kMaxSchedThreads)
    for (pid_t tid : followed_) read_sched(tid);
  end_ns_ = monotonic_ns();  // the recording's end: what happens while we write the file is not its
  if (wall_) wall_->stop();
  take_wall_samples();
  if (sampler_) sampler_->finish();
  if (tracer_) tracer_->drain();
  // Its probes take ~0.1 s each to close: done while the profile is being finished.
  if (gc_epochs_) gc_epochs_->close(release);
  // Even after the target exited: the perf map is still on disk and may hold code logged last.
  symbolizer_->refresh();
}

void Recorder::release_probes() {
  if (gc_epochs_) gc_epochs_->release();
}

FinishedProfile Recorder::finish_profile(profile::BuildInfo build, profile::RecordingInfo info) {
  build.wall_mode = opts_.wall;
  info.details = details();  // before the stack table and symbols are released
  FinishOptions fo;
  fo.pid = opts_.pid;
  fo.is_node = opts_.is_node;
  fo.build = std::move(build);
  fo.recording = std::move(info);
  fo.health = health_.get();
  fo.end_ns = end_ns_ ? end_ns_ : monotonic_ns();
  fo.release_raw = [this] {
    stacks_.release();
    compactor_.release();
    symbolizer_->release_kernel_symbols();
    ::malloc_trim(0);
  };
  FinishedProfile out = record::finish_profile(stacks_, *symbolizer_, std::move(fo));
  symbolizer_->release();
  ::malloc_trim(0);
  return out;
}

std::vector<std::pair<std::string, std::string>> Recorder::details() const {
  std::vector<std::pair<std::string, std::string>> m;
  if (unwinder_) {
    for (size_t i = 0; i < unwinder_->end_counts().size(); i++)
      if (unwinder_->end_counts()[i])
        m.emplace_back(std::string("unwind.end.") + unwind::end_reason_name(static_cast<unwind::EndReason>(i)),
                       std::to_string(unwinder_->end_counts()[i]));
  }
  m.emplace_back("stacks.distinct", std::to_string(stacks_.entries().size()));
  m.emplace_back("stacks.nodes", std::to_string(stacks_.nodes()));
  m.emplace_back("stacks.compactions", std::to_string(compactor_.compactions()));
  m.emplace_back("stacks.addresses", std::to_string(compactor_.addresses()));
  m.emplace_back("symbols.addresses", std::to_string(symbolizer_->resolved_addresses()));
  m.emplace_back("symbols.distinct", std::to_string(symbolizer_->distinct_results()));
  m.emplace_back("js_names", symbols::js_names_mode_name(opts_.js_names));
  if (js_namer_) {
    for (auto& kv : js_namer_->details()) m.push_back(std::move(kv));
    m.emplace_back("js_heap.gc_epochs", gc_epochs_ ? "yes" : "no: " + gc_epochs_problem_);
    if (gc_epochs_) {
      m.emplace_back("js_heap.gc_threads", std::to_string(gc_epochs_->stats().threads));
      m.emplace_back("js_heap.gc_collections", std::to_string(gc_epochs_->stats().collections));
      m.emplace_back("js_heap.gc_lost", std::to_string(gc_epochs_->stats().lost));
      m.emplace_back("js_heap.gc_refused", std::to_string(gc_epochs_->stats().refused));
    }
  }
  if (wall_) {
    sample::WallStats w = wall_->stats();
    std::string tids;
    for (pid_t t : wall_threads_) tids += (tids.empty() ? "" : ",") + std::to_string(t);
    m.emplace_back("wall.threads", tids);
    m.emplace_back("wall.samples", std::to_string(w.samples));
    m.emplace_back("wall.dropped", std::to_string(w.dropped));
    m.emplace_back("wall.failed", std::to_string(w.failed));
    m.emplace_back("wall.out_of_memory", std::to_string(w.out_of_memory));
    m.emplace_back("wall.unstopped", std::to_string(w.unstopped));
    m.emplace_back("wall.on_cpu", std::to_string(w.on_cpu));
    std::string refused;
    for (pid_t t : wall_refused_) refused += (refused.empty() ? "" : ",") + std::to_string(t);
    if (!refused.empty()) m.emplace_back("wall.refused", refused);
    m.emplace_back("wall.stops", std::to_string(w.stops));
    m.emplace_back("wall.stop_avg_us", std::to_string(w.stops ? w.stopped_ns_total / w.stops / 1000 : 0));
    m.emplace_back("wall.stop_max_us", std::to_string(w.stopped_ns_max / 1000));
    m.emplace_back("wall.other_threads", "cpu-clock (label clock=cpu)");
  }
  if (tracer_) {
    m.emplace_back("loop_health.poll_events", std::to_string(tracer_->events()));
    m.emplace_back("loop_health.lost", std::to_string(tracer_->lost()));
    if (health_) m.emplace_back("loop_health.late", std::to_string(health_->late_events()));
  }
  return m;
}

uint64_t Recorder::polls_lost() const { return tracer_ ? tracer_->lost() : 0; }

}  // namespace loopperf::record
