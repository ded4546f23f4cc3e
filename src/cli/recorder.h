// The recording pipeline for one process: cpu-clock sampling of every thread, optional wall-clock
// sampling of the loop threads, poll-wait tracepoints for loop health, unwinding as samples
// arrive, and at the end one labelled Profile. record_command.cpp does the CLI around it.
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
#include "loopperf/profile/stack_compactor.h"
#include "loopperf/profile/stack_table.h"
#include "loopperf/sample/poll_tracer.h"
#include "loopperf/sample/sampler.h"
#include "loopperf/sample/wall_sampler.h"
#include "loopperf/symbols/process_symbolizer.h"
#include "loopperf/unwind/sample_unwinder.h"
#include "recorder_options.h"

namespace loopperf::cli {

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
  void finish();

  // Builds the labelled profile, then frees the stack table and symbol tables: call once.
  profile::Profile build(profile::BuildInfo info);

  const sample::SamplerStats& stats() const { return sampler_->stats(); }
  const std::map<pid_t, std::string>& thread_names() const { return sampler_->thread_names(); }
  const profile::StackTable& stacks() const { return stacks_; }
  symbols::ProcessSymbolizer& symbolizer() { return symbolizer_; }
  std::vector<std::string> warnings() const { return warnings_; }
  std::vector<std::pair<std::string, std::string>> metadata() const;
  const loop::LabelSummary& labels() const { return labels_; }
  const std::string& phase_problem() const { return phase_problem_; }
  sample::WallStats wall_stats() const { return wall_ ? wall_->stats() : sample::WallStats{}; }

 private:
  explicit Recorder(const RecorderOptions& opts);
  void on_cpu_sample(const sample::RawSample& s);
  void on_wall_samples();
  void follow_new_threads();
  void note_worker_loop(pid_t tid, const std::vector<unwind::Frame>& frames);

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
  std::vector<unwind::Frame> frames_;
  std::vector<std::string> warnings_;
  loop::LabelSummary labels_;
  std::string phase_problem_;
  std::string exe_;                 // the target's executable (its mapping's path)
  bool call_sites_ready_ = false;   // uv_run's call-site table built (while recording)
  uint64_t start_ns_ = 0, end_ns_ = 0;
  std::chrono::steady_clock::time_point last_scan_, last_refresh_, last_trim_, started_;
};

}  // namespace loopperf::cli
