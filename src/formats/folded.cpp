#include "loopperf/formats/folded.h"

#include <algorithm>
#include <string_view>
#include <vector>

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
  Line(const std::string* thread, std::span<const uint32_t> frames, const std::vector<std::string>& names)
      : thread_(thread), frames_(frames), names_(names) {}

  // The next byte, or -1 at the end.
  int next() {
    for (;;) {
      if (piece_ && at_ < piece_->size()) return static_cast<unsigned char>((*piece_)[at_++]);
      if (!advance()) return -1;
    }
  }
  bool empty() const { return !thread_ && frames_.empty(); }

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
    if (frame_ >= frames_.size()) return false;
    if (started_ && !sep_done_) {
      sep_done_ = true;
      piece_ = &kSep;
      return true;
    }
    piece_ = &names_[frames_[frame_++]];
    started_ = true;
    sep_done_ = false;
    return true;
  }

  const std::string* thread_;
  std::span<const uint32_t> frames_;
  const std::vector<std::string>& names_;
  const std::string* piece_ = nullptr;
  size_t at_ = 0, frame_ = 0;
  int state_ = 0;
  bool started_ = false, sep_done_ = false;
};

}  // namespace

Result<std::string> to_folded(const profile::Profile& p, const FoldedOptions& opt) {
  auto stacks = detail::collect_stacks(p, {.phase_roots = opt.phase_roots,
                                           .value_type = opt.value_type,
                                           .preference = detail::ValuePreference::kCount,
                                           .diff = detail::DiffMode::kRefuse,
                                           .writer = "folded"});
  if (!stacks) return stacks.error();
  std::vector<std::string> names, threads;
  for (const auto& f : stacks->frames) names.push_back(element(f.name));
  for (const auto& t : stacks->threads) threads.push_back(element(t.label()));
  static const std::string kNoFrames = "[no frames]";
  auto line = [&](const detail::StackSample& s) {
    Line l(stacks->has_thread_labels ? &threads[s.thread] : nullptr, s.frames, names);
    if (l.empty()) return Line(&kNoFrames, {}, names);
    return l;
  };
  auto compare = [&](const detail::StackSample& a, const detail::StackSample& b) {
    Line x = line(a), y = line(b);
    for (;;) {
      const int cx = x.next(), cy = y.next();
      if (cx != cy) return cx < cy ? -1 : 1;
      if (cx < 0) return 0;
    }
  };
  // Sorted by their text, equal lines adjacent: they merge (pprof may hold one stack several times
  // with different labels, and names can repeat across frames). Output in that order, as before.
  auto& samples = stacks->samples;
  std::sort(samples.begin(), samples.end(), [&](const auto& a, const auto& b) { return compare(a, b) < 0; });
  std::string out;
  for (int pass = 0; pass < 2; pass++) {  // the first measures, so the text is made in one piece
    size_t bytes = 0;
    for (size_t i = 0; i < samples.size();) {
      int64_t count = 0;
      size_t j = i;
      for (; j < samples.size() && (j == i || compare(samples[i], samples[j]) == 0); j++) count += samples[j].value;
      const std::string n = std::to_string(count);
      Line l = line(samples[i]);
      if (pass == 0) {
        for (int c = l.next(); c >= 0; c = l.next()) bytes++;
        bytes += 2 + n.size();
      } else {
        for (int c = l.next(); c >= 0; c = l.next()) out.push_back(static_cast<char>(c));
        out.push_back(' ');
        out += n;
        out.push_back('\n');
      }
      i = j;
    }
    if (pass == 0) out.reserve(bytes);
  }
  return out;
}

}  // namespace loopperf::formats
