#include "loopperf/formats/folded.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "sink.h"
#include "stacks.h"

namespace loopperf::formats {

namespace {

std::string element(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == ';' ? ':' : c == '\n' || c == '\r' ? ' ' : c;
  return out;
}

// One sample's line, read a byte at a time without being built: the thread's label (when the
// profile has thread labels), then each frame's name, joined by ';'. Lines are sorted and merged
// this way, so a profile of millions of distinct stacks never holds millions of strings at once.
class Line {
 public:
  Line(const std::string* thread, detail::FrameCursor frames, const std::vector<std::string>& names)
      : thread_(thread), frames_(frames), names_(names), no_frames_(frames.empty()) {}

  // The next byte, or -1 at the end.
  int next() {
    for (;;) {
      if (piece_ && at_ < piece_->size()) return static_cast<unsigned char>((*piece_)[at_++]);
      if (!advance()) return -1;
    }
  }
  bool empty() const { return !thread_ && no_frames_; }

 private:
  bool advance() {
    static const std::string kSep = ";";
    at_ = 0;
    if (state_ == 0) {  // the thread's label, if any
      state_ = 1;
      if (thread_) {
        piece_ = thread_;
        started_ = true;
        return true;
      }
    }
    if (!have_next_ && !frames_.next(next_)) return false;
    have_next_ = true;
    if (started_ && !sep_done_) {
      sep_done_ = true;
      piece_ = &kSep;
      return true;
    }
    piece_ = &names_[next_];
    have_next_ = false;
    started_ = true;
    sep_done_ = false;
    return true;
  }

  const std::string* thread_;
  detail::FrameCursor frames_;
  const std::vector<std::string>& names_;
  bool no_frames_;
  const std::string* piece_ = nullptr;
  size_t at_ = 0;
  uint32_t next_ = 0;  // a frame read from frames_ but not yet given out (a separator came first)
  bool have_next_ = false;
  int state_ = 0;
  bool started_ = false, sep_done_ = false;
};

}  // namespace

namespace detail {

Status write_folded(const profile::Profile& p, const FoldedOptions& opt, Sink& sink) {
  auto stacks = collect_stacks(p, {.phase_roots = opt.phase_roots,
                                   .value_type = opt.value_type,
                                   .preference = ValuePreference::kCount,
                                   .diff = DiffMode::kRefuse,
                                   .writer = "folded"});
  if (!stacks) return stacks.error();
  std::vector<std::string> names, threads;
  for (const auto& f : stacks->frames) names.push_back(element(f.name));
  for (const auto& t : stacks->threads) threads.push_back(element(t.label()));
  static const std::string kNoFrames = "[no frames]";
  auto line = [&](const StackRef& s) {
    Line l(stacks->has_thread_labels ? &threads[s.thread] : nullptr, stacks->frames_of(s), names);
    if (l.empty()) return Line(&kNoFrames, stacks->frames_of(s), names);
    return l;
  };
  auto compare = [&](const StackRef& a, const StackRef& b) {
    Line x = line(a), y = line(b);
    for (;;) {
      const int cx = x.next(), cy = y.next();
      if (cx != cy) return cx < cy ? -1 : 1;
      if (cx < 0) return 0;
    }
  };
  // Sorted by their text, equal lines adjacent: they merge (pprof may hold one stack several times
  // with different labels, and names can repeat across frames).
  auto& samples = stacks->samples;
  std::sort(samples.begin(), samples.end(), [&](const auto& a, const auto& b) { return compare(a, b) < 0; });
  std::string& out = sink.out();
  for (size_t i = 0; i < samples.size();) {
    int64_t count = 0;
    size_t j = i;
    for (; j < samples.size() && (j == i || compare(samples[i], samples[j]) == 0); j++) count += samples[j].value;
    Line l = line(samples[i]);
    for (int c = l.next(); c >= 0; c = l.next()) out.push_back(static_cast<char>(c));
    out.push_back(' ');
    out += std::to_string(count);
    out.push_back('\n');
    sink.spill();
    i = j;
  }
  return {};
}

}  // namespace detail

Result<std::string> to_folded(const profile::Profile& p, const FoldedOptions& opt) {
  return detail::to_string(&detail::write_folded, p, opt);
}

}  // namespace loopperf::formats
