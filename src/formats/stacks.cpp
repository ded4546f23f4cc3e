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
  std::vector<std::vector<uint32_t>> loc_frames(p.locations.size());
  for (size_t i = 0; i < p.locations.size(); i++) {
    const auto& loc = p.locations[i];
    if (loc.lines.empty()) {
      loc_frames[i].push_back(table.intern(frame_for_bare_location(p, loc)));
      continue;
    }
    // pprof lists inlined frames innermost first; the caller is the root-most.
    for (auto it = loc.lines.rbegin(); it != loc.lines.rend(); ++it)
      loc_frames[i].push_back(table.intern(frame_for_line(p, loc, *it)));
  }

  std::map<std::pair<std::string, int64_t>, size_t> thread_index;
  std::vector<ThreadInfo> threads;
  std::map<std::string, std::string_view, std::less<>> phase_index;
  std::vector<uint32_t> begins;  // sample k's frames start at frame_ids[begins[k]]
  for (const auto& s : p.samples) {
    if (out.value.index >= s.values.size()) continue;
    const int64_t v = s.values[out.value.index];
    StackSample ss;
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
    auto [it, fresh] = thread_index.try_emplace(std::move(key), threads.size());
    if (fresh) {
      ThreadInfo t;
      t.name = name;
      t.tid = tid;
      t.has_tid = has_tid;
      t.role = std::string(role);
      threads.push_back(std::move(t));
    }
    ss.thread = static_cast<uint32_t>(it->second);
    (ss.base ? threads[ss.thread].base_total : threads[ss.thread].total) += ss.value;
    (ss.base ? out.base_total : out.total) += ss.value;
    if (const std::string_view phase = s.str_label(profile::kPhaseLabel); !phase.empty()) {
      auto known = phase_index.find(phase);
      if (known == phase_index.end())
        known = phase_index.emplace(std::string(phase), out.phases.emplace_back(phase)).first;
      ss.phase = known->second;
    }
    begins.push_back(static_cast<uint32_t>(out.frame_ids.size()));
    if (opt.phase_roots && !ss.phase.empty()) {
      FrameInfo ph;
      ph.name = "[" + std::string(ss.phase) + "]";
      ph.synthetic = SyntheticKind::kPhase;
      out.frame_ids.push_back(table.intern(std::move(ph)));
    }
    for (auto id = s.location_ids.rbegin(); id != s.location_ids.rend(); ++id) {
      if (*id == 0 || *id > p.locations.size()) continue;  // decode_pprof rejects these; stay safe
      const auto& lf = loc_frames[*id - 1];
      out.frame_ids.insert(out.frame_ids.end(), lf.begin(), lf.end());
    }
    out.samples.push_back(ss);
  }
  // frame_ids is whole now: each sample's frames can be viewed.
  for (size_t k = 0; k < out.samples.size(); k++) {
    const size_t end = k + 1 < begins.size() ? begins[k + 1] : out.frame_ids.size();
    out.samples[k].frames = std::span<const uint32_t>(out.frame_ids).subspan(begins[k], end - begins[k]);
  }

  // Loop threads first, so that the first profile a viewer opens is the event loop.
  std::vector<size_t> order(threads.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const auto &x = threads[a], &y = threads[b];
    return std::make_tuple(role_rank(x.role), x.tid, x.name) < std::make_tuple(role_rank(y.role), y.tid, y.name);
  });
  std::vector<size_t> new_index(threads.size());
  for (size_t i = 0; i < order.size(); i++) {
    new_index[order[i]] = i;
    out.threads.push_back(std::move(threads[order[i]]));
  }
  for (auto& s : out.samples) s.thread = new_index[s.thread];
  return out;
}

uint32_t CallTree::child(uint32_t parent, uint32_t frame) {
  uint64_t key = (static_cast<uint64_t>(parent) << 32) | frame;
  auto [it, fresh] = index_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (fresh) {
    nodes_[parent].children.push_back(it->second);
    nodes_.push_back(Node{frame, {}, 0, 0, 0, 0});
    parent_.push_back(parent);
  }
  return it->second;
}

void CallTree::add(uint32_t leaf, int64_t value) {
  nodes_[leaf].self += value;
  for (uint32_t n = leaf;; n = parent_[n]) {
    nodes_[n].total += value;
    if (n == 0) break;
  }
}

void CallTree::add_base(uint32_t leaf, int64_t value) {
  nodes_[leaf].base_self += value;
  for (uint32_t n = leaf;; n = parent_[n]) {
    nodes_[n].base_total += value;
    if (n == 0) break;
  }
}

std::vector<int64_t> CallTree::diff_widths() const {
  // Children always have larger indices than their parent, so one backward pass sees every child
  // before its parent. max(base, head) per node alone would not nest: a caller whose callee A
  // vanished and whose callee B appeared has max(base, head) = 10 while A and B need 10 each.
  std::vector<int64_t> w(nodes_.size(), 0);
  for (size_t i = nodes_.size(); i-- > 0;) {
    const auto& n = nodes_[i];
    int64_t children = 0;
    for (uint32_t c : n.children) children += w[c];
    w[i] = std::max({n.total, n.base_total, children});
  }
  return w;
}

void sort_samples(Stacks& s) {
  const auto& frames = s.frames;
  std::stable_sort(s.samples.begin(), s.samples.end(), [&](const StackSample& a, const StackSample& b) {
    if (a.thread != b.thread) return a.thread < b.thread;
    int ra = phase_rank(a.phase), rb = phase_rank(b.phase);
    if (ra != rb) return ra < rb;
    if (a.phase != b.phase) return a.phase < b.phase;
    size_t n = std::min(a.frames.size(), b.frames.size());
    for (size_t i = 0; i < n; i++) {
      if (a.frames[i] == b.frames[i]) continue;
      const auto &fa = frames[a.frames[i]], &fb = frames[b.frames[i]];
      if (fa.name != fb.name) return fa.name < fb.name;
      return a.frames[i] < b.frames[i];
    }
    return a.frames.size() < b.frames.size();
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
