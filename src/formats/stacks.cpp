#include "stacks.h"

#include "loopperf/profile/recording_info.h"
#include "loopperf/common/json.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "loopperf/profile/labels.h"
#include "loopperf/profile/diff_convention.h"
#include "pprof_detail.h"

namespace loopperf::formats::detail {

Result<ValueChoice> choose_value(const profile::Profile& p, std::string_view requested, ValuePreference pref) {
  if (p.sample_types.empty())
    return make_error(ErrorCode::kInput, "the profile has no sample types", kPprofHint);
  auto pick = [&](size_t i) { return ValueChoice{i, p.sample_types[i]}; };
  if (!requested.empty()) {
    if (auto i = p.value_index(requested)) return pick(*i);
    std::string have;
    for (const auto& t : p.sample_types) have += (have.empty() ? "" : ", ") + t.type;
    return make_error(ErrorCode::kUsage, "the profile has no sample type '" + std::string(requested) + "'",
                      "choose one of: " + have);
  }
  if (pref == ValuePreference::kCount) {
    for (size_t i = 0; i < p.sample_types.size(); i++)
      if (p.sample_types[i].unit == "count") return pick(i);
  }
  if (auto i = p.value_index(p.default_sample_type); i && !p.default_sample_type.empty()) return pick(*i);
  return pick(p.sample_types.size() - 1);
}

std::string ThreadInfo::label() const {
  if (!name.empty() && has_tid) return name + " (" + std::to_string(tid) + ")";
  if (!name.empty()) return name;
  if (has_tid) return "tid " + std::to_string(tid);
  return "all";
}

int phase_rank(std::string_view phase) {
  if (auto ph = profile::parse_phase(phase)) return static_cast<int>(*ph);
  return phase.empty() ? 1000 : 999;  // foreign phases after ours, none at all last
}

namespace {

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

int role_rank(std::string_view role) {
  if (role == profile::kMainLoopRole) return 0;
  if (role == profile::kWorkerLoopRole) return 1;
  return 2;
}

// Interns frames by what a reader sees, so JIT tiers of one JS function and unnamed code of one
// module are each a single frame. In a diff, base and head were built in different checkouts and
// edited in between: a frame is its name and its file's base name, as `loopperf diff` matches
// functions (docs/diff.md), and keeps the file and line it was first seen with (head's).
class FrameTable {
 public:
  FrameTable(std::vector<FrameInfo>& frames, bool diff) : frames_(frames), diff_(diff) {}

  uint32_t intern(FrameInfo f) {
    const int kind = static_cast<int>(f.kind), synthetic = static_cast<int>(f.synthetic);
    auto key = diff_ ? std::make_tuple(f.name, basename_of(f.file), int64_t{0}, kind, synthetic)
                     : std::make_tuple(f.name, f.file, f.line, kind, synthetic);
    auto [it, fresh] = index_.try_emplace(std::move(key), static_cast<uint32_t>(frames_.size()));
    if (fresh) frames_.push_back(std::move(f));
    return it->second;
  }

 private:
  std::vector<FrameInfo>& frames_;
  bool diff_;
  std::map<std::tuple<std::string, std::string, int64_t, int, int>, uint32_t> index_;
};

// Profiles from Node's pprof package name JS functions without perf-map prefixes; their source file
// tells that they are JavaScript.
bool is_js_file(std::string_view file) {
  auto ends = [&](std::string_view suf) { return file.size() >= suf.size() && file.substr(file.size() - suf.size()) == suf; };
  return file.substr(0, 5) == "node:" || ends(".js") || ends(".mjs") || ends(".cjs") || ends(".ts");
}

FrameInfo frame_for_line(const profile::Profile& p, const profile::Location& loc, const profile::Line& line) {
  FrameInfo f;
  const profile::Function* fn = p.function(line.function_id);
  const profile::Mapping* m = p.mapping(loc.mapping_id);
  f.kind = profile::frame_kind(p, loc, line);
  f.name = fn && !fn->name.empty() ? fn->name : fn && !fn->system_name.empty() ? fn->system_name : "[unknown]";
  f.file = fn ? fn->file : "";
  if (f.kind == profile::FrameKind::kNative && is_js_file(f.file)) f.kind = profile::FrameKind::kJs;
  if (f.file.empty() && m && f.kind != profile::FrameKind::kJs) f.file = m->file;
  // The function's first line identifies it; the sampled line would split one function into many.
  // perf-map JS frames have no start line, but their line is the function's "file:line:col";
  // a native frame's line is wherever it was sampled, so it is not part of the frame.
  if (fn && fn->start_line > 0) {
    f.line = fn->start_line;
    f.column = fn->start_line == line.line ? line.column : 0;
  } else if (f.kind == profile::FrameKind::kJs) {
    f.line = line.line;
    f.column = line.column;
  }
  return f;
}

FrameInfo frame_for_bare_location(const profile::Profile& p, const profile::Location& loc) {
  FrameInfo f;
  const profile::Mapping* m = p.mapping(loc.mapping_id);
  f.name = m && !m->file.empty() ? "[unknown] " + basename_of(m->file) : "[unknown]";
  f.file = m ? m->file : "";
  f.kind = m && m->file == "[kernel.kallsyms]" ? profile::FrameKind::kKernel : profile::FrameKind::kUnknown;
  return f;
}

}  // namespace

Result<Stacks> collect_stacks(const profile::Profile& p, const StackOptions& opt) {
  Stacks out;
  out.profile = &p;
  auto value = choose_value(p, opt.value_type, opt.preference);
  if (!value) return value.error();
  out.value = *value;
  out.diff = profile::is_diff_profile(p);
  if (out.diff && opt.diff == DiffMode::kRefuse)
    return make_error(ErrorCode::kUsage,
                      "cannot write a diff profile (base and head in one file, as `loopperf diff -o` writes it) as " +
                          std::string(opt.writer.empty() ? "this format" : opt.writer) +
                          ": it draws one profile, and head minus base is not one",
                      "write it as .html (a red/green diff flame graph) or keep it as pprof (.pb.gz); to see "
                      "one side alone, convert the base or the head recording itself");
  FrameTable table(out.frames, out.diff);

  // Per-location frame lists (root-most first within a location) are computed once.
  out.location_begin.reserve(p.locations.size() + 1);
  for (const auto& loc : p.locations) {
    out.location_begin.push_back(static_cast<uint32_t>(out.location_frames.size()));
    if (loc.lines.empty()) {
      out.location_frames.push_back(table.intern(frame_for_bare_location(p, loc)));
      continue;
    }
    // pprof lists inlined frames innermost first; the caller is the root-most.
    for (auto it = loc.lines.rbegin(); it != loc.lines.rend(); ++it)
      out.location_frames.push_back(table.intern(frame_for_line(p, loc, *it)));
  }
  out.location_begin.push_back(static_cast<uint32_t>(out.location_frames.size()));

  std::map<std::pair<std::string, int64_t>, size_t> thread_index;
  std::vector<ThreadInfo> threads;
  std::map<std::string, uint32_t, std::less<>> phase_index;
  out.samples.reserve(p.samples.size());  // exactly: growth by doubling would hold 1.5 times as much
  for (auto it = p.samples.begin(); it != p.samples.end(); ++it) {
    const profile::SampleView s = *it;
    if (out.value.index >= s.values.size()) continue;
    const int64_t v = s.values[out.value.index];
    StackRef ss;
    ss.sample = static_cast<uint32_t>(it.index());
    if (out.diff) {
      if (v == 0) continue;
      ss.base = profile::is_diff_base(s, v);
      ss.value = v < 0 ? -v : v;
    } else {
      if (v <= 0) continue;
      ss.value = v;
    }
    std::string name(s.str_label(profile::kThreadLabel));
    std::string_view role = s.str_label(profile::kRoleLabel);
    auto label_tid = s.num_label(profile::kTidLabel);
    if (!name.empty() || label_tid) out.has_thread_labels = true;
    // A diff's two sides ran as two processes: the same thread has another tid in each, so a thread
    // is its name and role there (pool threads of one name merge, which is what a diff compares).
    const bool has_tid = label_tid.has_value() && !out.diff;
    const int64_t tid = has_tid ? *label_tid : 0;
    auto key = out.diff ? std::make_pair(name + '\x1f' + std::string(role), int64_t{0}) : std::make_pair(name, tid);
    auto [at, fresh] = thread_index.try_emplace(std::move(key), threads.size());
    if (fresh) {
      ThreadInfo t;
      t.name = name;
      t.tid = tid;
      t.has_tid = has_tid;
      t.role = std::string(role);
      threads.push_back(std::move(t));
    }
    ss.thread = static_cast<uint32_t>(at->second);
    (ss.base ? threads[ss.thread].base_total : threads[ss.thread].total) += ss.value;
    (ss.base ? out.base_total : out.total) += ss.value;
    if (const std::string_view phase = s.str_label(profile::kPhaseLabel); !phase.empty()) {
      auto known = phase_index.find(phase);
      if (known == phase_index.end()) {
        known = phase_index.emplace(std::string(phase), static_cast<uint32_t>(out.phases.size())).first;
        out.phases.emplace_back(phase);
        if (opt.phase_roots) {
          FrameInfo ph;
          ph.name = "[" + std::string(phase) + "]";
          ph.synthetic = SyntheticKind::kPhase;
          out.phase_frames.push_back(table.intern(std::move(ph)));
        }
      }
      ss.phase = known->second;
    }
    out.samples.push_back(ss);
  }

  // Loop threads first, so that the first profile a viewer opens is the event loop.
  std::vector<size_t> order(threads.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto &x = threads[a], &y = threads[b];
    return std::make_tuple(role_rank(x.role), x.tid, x.name) < std::make_tuple(role_rank(y.role), y.tid, y.name);
  });
  std::vector<uint32_t> new_index(threads.size());
  for (size_t i = 0; i < order.size(); i++) {
    new_index[order[i]] = static_cast<uint32_t>(i);
    out.threads.push_back(std::move(threads[order[i]]));
  }
  for (auto& s : out.samples) s.thread = new_index[s.thread];
  return out;
}

void Stacks::frames_into(const StackRef& s, std::vector<uint32_t>& out) const {
  FrameCursor c = frames_of(s);
  for (uint32_t f; c.next(f);) out.push_back(f);
}

namespace {

// Each frame's place when sorting: phase roots first in loop order, then the others by name (ties,
// e.g. one name in two files, by when the frame was first seen).
std::vector<uint32_t> frame_ranks(const Stacks& s) {
  const auto& frames = s.frames;
  std::vector<uint32_t> by(frames.size());
  for (uint32_t i = 0; i < by.size(); i++) by[i] = i;
  auto phase_of = [&](const FrameInfo& f) { return std::string_view(f.name).substr(1, f.name.size() - 2); };
  std::sort(by.begin(), by.end(), [&](uint32_t a, uint32_t b) {
    const auto &fa = frames[a], &fb = frames[b];
    const bool pa = fa.synthetic == SyntheticKind::kPhase, pb = fb.synthetic == SyntheticKind::kPhase;
    if (pa != pb) return pa;
    if (pa) {
      const int ra = phase_rank(phase_of(fa)), rb = phase_rank(phase_of(fb));
      if (ra != rb) return ra < rb;
    }
    if (fa.name != fb.name) return fa.name < fb.name;
    return a < b;
  });
  std::vector<uint32_t> rank(frames.size());
  for (uint32_t i = 0; i < by.size(); i++) rank[by[i]] = i;
  return rank;
}

// Root first, frame by frame by rank; a stack sorts before the stacks it is a prefix of.
int compare_frames(const Stacks& st, const std::vector<uint32_t>& rank, const StackRef& a, const StackRef& b) {
  FrameCursor x = st.frames_of(a), y = st.frames_of(b);
  for (;;) {
    uint32_t fa, fb;
    const bool ha = x.next(fa), hb = y.next(fb);
    if (!ha || !hb) return ha == hb ? 0 : ha ? 1 : -1;
    if (fa != fb) return rank[fa] < rank[fb] ? -1 : 1;
  }
}

}  // namespace

int compare_thread_phase(const Stacks& s, const StackRef& a, const StackRef& b) {
  if (a.thread != b.thread) return a.thread < b.thread ? -1 : 1;
  const std::string_view pa = s.phase(a), pb = s.phase(b);
  if (pa == pb) return 0;
  const int ra = phase_rank(pa), rb = phase_rank(pb);
  if (ra != rb) return ra < rb ? -1 : 1;
  return pa < pb ? -1 : 1;
}

bool same_frames(const Stacks& st, const StackRef& a, const StackRef& b) {
  FrameCursor x = st.frames_of(a), y = st.frames_of(b);
  for (;;) {
    uint32_t fa, fb;
    const bool ha = x.next(fa), hb = y.next(fb);
    if (ha != hb) return false;
    if (!ha) return true;
    if (fa != fb) return false;
  }
}

void sort_samples(Stacks& s) {
  const auto rank = frame_ranks(s);
  std::sort(s.samples.begin(), s.samples.end(), [&](const StackRef& a, const StackRef& b) {
    if (int c = compare_thread_phase(s, a, b)) return c < 0;
    if (int c = compare_frames(s, rank, a, b)) return c < 0;
    return a.sample < b.sample;
  });
}

void sort_for_tree(Stacks& s, bool by_thread) {
  const auto rank = frame_ranks(s);
  std::sort(s.samples.begin(), s.samples.end(), [&](const StackRef& a, const StackRef& b) {
    if (by_thread && a.thread != b.thread) return a.thread < b.thread;
    if (int c = compare_frames(s, rank, a, b)) return c < 0;
    return a.sample < b.sample;
  });
}

std::string profile_title(const profile::Profile& p) {
  const std::string cmd = profile::read_recording_info(p).cmdline;
  if (cmd.empty()) return "profile";
  // "node /long/path/app.js --flag" reads best as "node app.js --flag".
  std::string out;
  size_t i = 0;
  while (i < cmd.size()) {
    size_t end = cmd.find(' ', i);
    if (end == std::string::npos) end = cmd.size();
    std::string_view word(cmd.data() + i, end - i);
    if (word.find('/') != std::string_view::npos && word[0] != '-') word = word.substr(word.rfind('/') + 1);
    out += (out.empty() ? "" : " ") + std::string(word);
    i = end + 1;
  }
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

void append_json_string(std::string& out, std::string_view raw) {
  std::string fixed;
  std::string_view s = raw;
  if (!is_valid_utf8(raw)) {
    fixed = to_valid_utf8(raw);
    s = fixed;
  }
  JsonWriter::escape_to(out, s, /*html_safe=*/true);
}

}  // namespace loopperf::formats::detail
