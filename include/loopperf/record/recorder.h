// The recording pipeline for one process: cpu-clock sampling of every thread, optional wall-clock
// sampling of the loop threads, poll-wait tracepoints for loop health, unwinding as samples
// arrive, and at the end one labelled Profile (finish.h). session.h runs a whole recording with it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "loopperf/common/result.h"
#include "loopperf/loop/classifier.h"
#include "loopperf/loop/health.h"
#include "loopperf/process/target_files.h"
#include "loopperf/profile/builder.h"
#include "loopperf/profile/recording_info.h"
#include "loopperf/profile/stack_compactor.h"
#include "loopperf/profile/stack_table.h"
#include "loopperf/sample/poll_tracer.h"
#include "loopperf/sample/sampler.h"
#include "loopperf/sample/wall_sampler.h"
#include "loopperf/symbols/process_symbolizer.h"
#include "loopperf/unwind/sample_unwinder.h"
#include "loopperf/v8/gc_epochs.h"
#include "loopperf/v8/stack_namer.h"
#include "loopperf/record/finish.h"
#include "loopperf/record/options.h"

namespace loopperf::record {

// What the pipeline takes in from the target, in the order it processes it: a capture (replay.h)
// saves it, and a replay feeds it back through Recorder's on_* methods.
class InputTap {
 public:
  virtual ~InputTap() = default;
  virtual void cpu_sample(const sample::RawSample& s) = 0;
  virtual void wall_sample(const sample::WallSample& w) = 0;
  virtual void poll_event(const sample::PollEvent& e) = 0;
  virtual void thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame, uint64_t since_ns) = 0;
  virtual void thread_ended(pid_t tid, uint64_t time_ns) = 0;
  virtual void health_flush(uint64_t now_ns) = 0;
  virtual void sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns) = 0;
};

// A sample as the pipeline keeps it: unwound, its JavaScript frames named, its addresses canonical
// (stack_compactor.h). `watch` keeps these in its flight recorder (flight_recorder.h).
struct KeptSample {
  pid_t tid = 0;
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  std::span<const profile::Frame> frames;  // leaf first
  profile::StackTable::Tag tag;
  uint64_t count = 1;
  uint64_t period = 0;  // nanoseconds it stands for (cpu or wall)
  bool cut_short = false;  // the walk stopped before the thread's entry (unwind::cut_short)
};

// What `watch` follows as it happens (recorder.h's set_sink): the kept samples, the poll waits, the
// threads, and the signals delivered to the target (with RecorderOptions::watch_signals).
class PipelineSink {
 public:
  virtual ~PipelineSink() = default;
  virtual void kept(const KeptSample& s) = 0;
  virtual void poll_event(const sample::PollEvent&) {}
  virtual void thread_found(pid_t /*tid*/, int /*loop_epfd*/, uint64_t /*loop_frame*/) {}
  virtual void thread_ended(pid_t /*tid*/) {}
  virtual void signal_delivered(pid_t /*tid*/, uint64_t /*time_ns*/, int /*sig*/) {}
};

// Where a replayed recording's target files and symbols come from (replay.h).
struct SavedSources {
  std::shared_ptr<process::TargetFiles> files;
  std::string perf_map;  // saved copy; "" = none
  std::string kallsyms;  // saved copy
};

// The cpu-clock event a recording of `opts` samples with: its rate, kernel frames, and for DWARF
// unwinding or heap names the registers and stack copy with rings sized to hold them.
sample::EventConfig cpu_event_config(const RecorderOptions& opts);

// A poll tracer's event (an enter, an exit or a gap) given to a loop-health tracker.
void feed_poll_event(loop::LoopHealthTracker& health, const sample::PollEvent& e);

class Recorder {
 public:
  // Preflight: opens the main thread's perf event first; its error is the user's error.
  static Result<std::unique_ptr<Recorder>> create(const RecorderOptions& opts);
  // A recorder over a saved target with no live source: replay.h feeds it the saved inputs.
  static std::unique_ptr<Recorder> for_replay(const RecorderOptions& opts, SavedSources sources);
  ~Recorder();

  // Every input is shown to `tap` as it is processed (null: none). Set before start().
  void set_tap(InputTap* tap) { tap_ = tap; }
  // Every kept sample, poll event, thread found or ended and signal delivered is shown to `sink`
  // (null: none); with RecorderOptions::keep_stacks false, samples only to it. Set before start().
  void set_sink(PipelineSink* sink) { sink_ = sink; }
  // `watch`'s capture: these threads are sampled at the recording's full rate, by cpu clock and,
  // with RecorderOptions::wall_on_demand, by wall clock; every other thread at idle_frequency_hz.
  // Returns at once; threads that ended are ignored.
  void capture(const std::set<pid_t>& tids);
  // Gives back memory a long-lived recording need not hold (watch: after its set-up, after each
  // incident, every minute): the ELF files' touched pages (ElfFile::drop_pages) and malloc's free pages.
  void trim_memory();

  // Once the target runs its own code (after exec in launch mode): unwinder, tracer, wall sampler.
  // `exe` is the target's executable (frame pointers are trusted in it when it is node).
  void start(const std::string& exe, bool is_node);
  // The replay's start: the same pipeline, with the saved start time and no live source. `health`:
  // loop health was measured.
  void start_replay(const std::string& exe, bool is_node, uint64_t start_ns, bool health);

  // The inputs, from the live sources or from a replay.
  void on_cpu_sample(const sample::RawSample& s);
  void on_wall_sample(const sample::WallSample& w);
  void on_poll_event(const sample::PollEvent& e);
  void on_thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame, uint64_t since_ns);
  void on_thread_ended(pid_t tid, uint64_t time_ns);
  void on_sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns);
  // A fed recorder's thread name (RecorderOptions::fed): at an exec or a rename.
  void on_thread_name(pid_t tid, const char* name);
  void on_health_flush(uint64_t now_ns);
  // The replay's stop: the recording ended at `end_ns`.
  void stop_replay(uint64_t end_ns) { end_ns_ = end_ns; }
  // Waits up to `timeout` for data (or for data on `also_wake`, which it does not read) and
  // processes it; rescans threads and refreshes snapshots.
  void step(std::chrono::milliseconds timeout, const std::vector<int>& also_wake = {});
  // Stops sampling and takes in what is still buffered. Its uprobes are closed in the background
  // now, or with `release_probes = false` only at release_probes(): closing one delays every probe
  // or tracepoint opened meanwhile by ~0.1 s (gc_epochs.h), which a process tree's next process,
  // starting, should not wait for.
  void stop(bool release_probes = true);
  void release_probes();

  // Builds the labelled profile (finish.h) with `info` as its metadata, then frees the stack table
  // and symbol tables: call once, after stop().
  FinishedProfile finish_profile(profile::BuildInfo build, profile::RecordingInfo info);

  const sample::SamplerStats& stats() const { return sampler_ ? sampler_->stats() : fed_stats_; }
  bool kernel_frames() const { return sampler_ ? sampler_->kernel_frames() : opts_.kernel; }
  const std::map<pid_t, std::string>& thread_names() const { return sampler_ ? sampler_->thread_names() : fed_names_; }
  const std::shared_ptr<process::TargetFiles>& files() const { return files_; }
  uint64_t start_ns() const { return start_ns_; }
  uint64_t end_ns() const { return end_ns_; }
  bool measures_health() const { return health_ != nullptr; }
  // The poll waits are traced (loop health, or watch's stall detector through the sink).
  bool traces_polls() const { return tracer_ != nullptr; }
  // Poll-wait records the kernel dropped because they were not read in time (0 when not traced).
  uint64_t polls_lost() const;
  // JavaScript frames are named from the target's heap (--js-names auto/heap and its layout known).
  bool heap_names() const { return js_namer_ != nullptr; }
  // Stacks left unnamed by the heap because naming took its share of time (js_heap.over_budget).
  uint64_t heap_names_over_budget() const;
  const RecorderOptions& options() const { return opts_; }
  const std::string& exe() const { return exe_; }
  // The libnode.so a node built as a shared library runs from (Debian's nodejs), or "".
  const std::string& libnode() const { return libnode_; }
  const profile::StackTable& stacks() const { return stacks_; }
  symbols::ProcessSymbolizer& symbolizer() { return *symbolizer_; }
  const symbols::ProcessSymbolizer& symbolizer() const { return *symbolizer_; }
  std::vector<std::string> warnings() const { return warnings_; }
  // How the recording went (RecordingInfo::details): unwind ends, stack table, symbols, wall, loop health.
  std::vector<std::pair<std::string, std::string>> details() const;
  sample::WallStats wall_stats() const { return wall_ ? wall_->stats() : sample::WallStats{}; }
  const std::set<pid_t>& wall_refused() const { return wall_refused_; }
  // The one sample count: what the profile holds, cpu and wall samples together.
  uint64_t samples() const { return cpu_kept_ + wall_kept_; }
  uint64_t wall_samples() const { return wall_kept_; }

 private:
  // Threads whose scheduler counters are read at their start and at the stop (process::sched_stat).
  static constexpr size_t kMaxSchedThreads = 512;
  void read_sched(pid_t tid);
  Recorder(const RecorderOptions& opts, SavedSources saved);
  void take_wall_samples();
  void follow_new_threads();
  void note_worker_loop(pid_t tid, const std::vector<profile::Frame>& frames);
  // What a cpu sample adds to its stack's sample count (1, or for a fed sample its period in units
  // of the recording's).
  uint64_t sample_count(const sample::RawSample& s);
  uint64_t nominal_period() const { return 1'000'000'000ULL / static_cast<uint64_t>(opts_.frequency_hz); }
  void start_js_names();

  RecorderOptions opts_;
  profile::StackTable stacks_;
  std::shared_ptr<process::TargetFiles> files_;  // the target's files, shared by symbolizer and unwinders
  std::unique_ptr<symbols::ProcessSymbolizer> symbolizer_;
  profile::StackCompactor compactor_;  // after stacks_ and symbolizer_, which it refers to
  std::unique_ptr<sample::Sampler> sampler_;  // null when fed (RecorderOptions::fed) or replayed
  // A fed recorder's counts and thread names, kept here as the sampler would.
  sample::SamplerStats fed_stats_;
  std::map<pid_t, std::string> fed_names_;
  std::mt19937_64 rounding_{std::random_device{}()};  // sample_count()'s
  std::unique_ptr<unwind::SampleUnwinder> unwinder_;
  std::unique_ptr<unwind::HybridUnwinder> wall_unwinder_;
  std::unique_ptr<unwind::ModuleMap> wall_modules_;
  std::unique_ptr<sample::PollTracer> tracer_;
  std::unique_ptr<sample::WallSampler> wall_;
  std::unique_ptr<loop::LoopHealthTracker> health_;
  // The target's garbage collections, for js_namer_'s memo (declared first: it outlives the namer).
  std::unique_ptr<v8::GcEpochs> gc_epochs_;
  std::string gc_epochs_problem_;
  std::unique_ptr<v8::StackNamer> js_namer_;  // JavaScript names from the target's heap (auto, heap)
  std::set<pid_t> followed_;        // threads with tracepoints / known to the health tracker
  std::set<pid_t> wall_threads_;    // loop threads sampled by wall clock
  std::set<pid_t> wall_refused_;    // loop threads ptrace refused (another tracer): cpu-sampled instead
  std::map<pid_t, int> probed_;     // samples looked at for worker-loop detection
  std::vector<profile::Frame> frames_;
  std::vector<std::string> warnings_;
  InputTap* tap_ = nullptr;
  PipelineSink* sink_ = nullptr;
  std::set<pid_t> captured_;        // capture()'s threads
  bool wall_running_ = false;       // wall_'s thread runs (wall_on_demand starts and stops it)
  std::string exe_;                 // the target's executable (its mapping's path)
  std::string libnode_;             // its libnode.so, when node is a shared library
  bool call_sites_ready_ = false;   // uv_run's call-site table built (while recording)
  uint64_t start_ns_ = 0, end_ns_ = 0;
  // Samples in the profile: cpu samples, wall samples (a loop thread has both: cpu samples while it
  // runs, wall samples while it is off the CPU).
  uint64_t cpu_kept_ = 0, wall_kept_ = 0;
  std::chrono::steady_clock::time_point last_scan_, last_refresh_, last_trim_, started_;
};

}  // namespace loopperf::record
