// Replayable recordings: the raw input of a real recording saved to a directory, and fed back into
// the same pipeline, so that raw records → labelled Profile can be tested on real data with no live
// target. What is saved:
//   events.bin   every input in the order the recorder processed it: cpu samples (callchain, user
//                registers, stack copy), wall samples, poll events, threads found and ended, and
//                loop-health flushes
//   maps         the target's merged maps at the end, as /proc/PID/maps prints them
//   status       /proc/PID/status at the start
//   files/       a copy of every module file the recorder opened (TargetFiles::saved_file_name)
//   perf.map     the perf map, when one was trusted
//   kallsyms     /proc/kallsyms, when kernel frames were recorded
//   info         the options, the executable, times and thread names ("key value" lines)
// Replay on another machine works only as far as these copies reach (the vDSO is this machine's).
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "loopperf/common/result.h"
#include "loopperf/profile/builder.h"
#include "loopperf/profile/recording_info.h"
#include "loopperf/record/finish.h"
#include "loopperf/record/recorder.h"

namespace loopperf::record {

// Saves a recording's input while it is recorded: set it as the recorder's tap before start(),
// and call save_target() after stop() and before finish_profile() (which frees the target's files).
class Capture : public InputTap {
 public:
  // Creates `dir` (which must not exist, or be empty) and reads the target's status.
  static Result<std::unique_ptr<Capture>> create(const std::string& dir, pid_t pid);
  ~Capture() override;

  void cpu_sample(const sample::RawSample& s) override;
  void wall_sample(const sample::WallSample& w) override;
  void poll_event(const sample::PollEvent& e) override;
  void thread_found(pid_t tid, int loop_epfd, uint64_t loop_frame, uint64_t since_ns) override;
  void thread_ended(pid_t tid, uint64_t time_ns) override;
  void health_flush(uint64_t now_ns) override;
  void sched_reading(pid_t tid, uint64_t cpu_ns, uint64_t run_delay_ns) override;

  // The maps, module files, perf map and kernel symbols the recorder used, and what replay needs to
  // set the pipeline up as it was.
  Status save_target(Recorder& rec, const std::map<pid_t, std::string>& thread_names);

 private:
  Capture(std::string dir, std::FILE* events);
  std::string dir_;
  std::FILE* events_;
  bool failed_ = false;  // a write failed: save_target reports it
};

// Feeds a saved recording through the pipeline and builds its labelled profile, as record would
// have with `info` as its metadata.
Result<FinishedProfile> replay_recording(const std::string& dir, profile::RecordingInfo info = {});

}  // namespace loopperf::record
