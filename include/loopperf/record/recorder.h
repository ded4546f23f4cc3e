// The recording pipeline for one process: cpu-clock sampling of every thread, optional wall-clock
// sampling of the loop threads, poll-wait tracepoints for loop health, unwinding as samples
// arrive, and at the end one labelled Profile (finish.h). session.h runs a whole recording with it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
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
#include "loopperf/record/finish.h"
#include "loopperf/record/options.h"

namespace loopperf::record {

class Recorder {
 public:
  // Preflight: opens the main thread's perf event first; its error is the user's error.
  static Result<std::unique_ptr<Recorder>> create(const RecorderOptions& opts);
  ~Recorder();

  // Once the target runs its own code (after exec in launch mode): unwinder, tracer, wall sampler.
  // `exe` is the target's executable (frame pointers are trusted in it when it is node).
  void start(const std::string& exe, bool is_node);
  // Waits up to `timeout` for data and processes it; rescans threads and refreshes snapshots.
  void step(std::chrono::milliseconds timeout);
  // Stops sampling and takes in what is still buffered.
  void stop();

  // Builds the labelled profile (finish.h) with `info` as its metadata, then frees the stack table
  // and symbol tables: call once, after stop().
  FinishedProfile finish_profile(profile::BuildInfo build, profile::RecordingInfo info);

  const sample::SamplerStats& stats() const { return sampler_->stats(); }
  bool kernel_frames() const { return sampler_->kernel_frames(); }
  const std::map<pid_t, std::string>& thread_names() const { return sampler_->thread_names(); }
  const profile::StackTable& stacks() const { return stacks_; }
  symbols::ProcessSymbolizer& symbolizer() { return symbolizer_; }
  std::vector<std::string> warnings() const { return warnings_; }
  // How the recording went (RecordingInfo::details): unwind ends, stack table, symbols, wall, loop health.
  std::vector<std::pair<std::string, std::string>> details() const;
  sample::WallStats wall_stats() const { return wall_ ? wall_->stats() : sample::WallStats{}; }

 private:
  explicit Recorder(const RecorderOptions& opts);
  void on_cpu_sample(const sample::RawSample& s);
  void on_wall_samples();
  void follow_new_threads();
  void note_worker_loop(pid_t tid, const std::vector<profile::Frame>& frames);

  RecorderOptions opts_;
  profile::StackTable stacks_;
  std::shared_ptr<process::TargetFiles> files_;  // the target's files, shared by symbolizer and unwinders
  symbols::ProcessSymbolizer symbolizer_;
  profile::StackCompactor compactor_;  // after stacks_ and symbolizer_, which it refers to
  std::unique_ptr<sample::Sampler> sampler_;
  std::unique_ptr<unwind::SampleUnwinder> unwinder_;
  std::unique_ptr<unwind::HybridUnwinder> wall_unwinder_;
  std::unique_ptr<unwind::ModuleMap> wall_modules_;
  std::unique_ptr<sample::PollTracer> tracer_;
  std::unique_ptr<sample::WallSampler> wall_;
  std::unique_ptr<loop::LoopHealthTracker> health_;
  std::set<pid_t> followed_;        // threads with tracepoints / known to the health tracker
  std::set<pid_t> wall_threads_;    // loop threads sampled by wall clock
  std::map<pid_t, int> probed_;     // samples looked at for worker-loop detection
  std::vector<profile::Frame> frames_;
  std::vector<std::string> warnings_;
  std::string exe_;                 // the target's executable (its mapping's path)
  bool call_sites_ready_ = false;   // uv_run's call-site table built (while recording)
  uint64_t start_ns_ = 0, end_ns_ = 0;
  std::chrono::steady_clock::time_point last_scan_, last_refresh_, last_trim_, started_;
};

}  // namespace loopperf::record
