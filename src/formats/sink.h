// Private to the writers: where a writer's text goes. Into a string (to_folded() and the other
// to_* calls), or into an AtomicFile a megabyte at a time, so that writing a profile of millions of
// samples never holds its whole output (issue 22). Writers append to out() and call spill() at
// points where the text may be cut.
#pragma once

#include <string>

#include "loopperf/common/fs.h"
#include "loopperf/common/result.h"
#include "loopperf/formats/cpuprofile.h"
#include "loopperf/formats/folded.h"
#include "loopperf/formats/html_flamegraph.h"
#include "loopperf/formats/speedscope.h"
#include "loopperf/profile/profile.h"

namespace loopperf::formats::detail {

class Sink {
 public:
  Sink() = default;
  explicit Sink(AtomicFile& file) : file_(&file) {}

  std::string& out() { return out_; }
  void spill() {
    if (file_ && out_.size() >= kChunk) flush();
  }
  void flush() {
    if (!file_) return;
    file_->write(out_);
    out_.clear();
  }
  std::string take() { return std::move(out_); }

 private:
  static constexpr size_t kChunk = 1 << 20;
  AtomicFile* file_ = nullptr;
  std::string out_;
};

// The writers other than pprof, into a sink (the caller flushes it). On an error the sink holds
// part of the text: the caller drops it (an AtomicFile not committed leaves nothing).
Status write_folded(const profile::Profile& p, const FoldedOptions& opt, Sink& sink);
Status write_speedscope(const profile::Profile& p, const SpeedscopeOptions& opt, Sink& sink);
Status write_cpuprofile(const profile::Profile& p, const CpuprofileOptions& opt, Sink& sink);
Status write_html_flamegraph(const profile::Profile& p, const HtmlOptions& opt, Sink& sink);

// to_folded() and the others: the text as a string.
template <typename Options>
Result<std::string> to_string(Status (*write)(const profile::Profile&, const Options&, Sink&),
                              const profile::Profile& p, const Options& opt) {
  Sink sink;
  if (auto st = write(p, opt, sink); !st) return st.error();
  return sink.take();
}

}  // namespace loopperf::formats::detail
