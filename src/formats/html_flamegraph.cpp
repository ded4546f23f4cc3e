#include "loopperf/formats/html_flamegraph.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "html/html_template.h"
#include "loopperf/profile/diff_convention.h"
#include "stacks.h"

namespace loopperf::formats {

namespace {

// Kinds as the page's script names them (index = the number stored per frame).
enum PageKind { kJs, kNative, kKernel, kBuiltin, kGc, kUnknown, kThread, kPhase, kRoot };

int page_kind(const detail::FrameInfo& f) {
  if (f.synthetic == detail::SyntheticKind::kThread) return kThread;
  if (f.synthetic == detail::SyntheticKind::kPhase) return kPhase;
  switch (f.kind) {
    case profile::FrameKind::kJs: return kJs;
    case profile::FrameKind::kNative: return kNative;
    case profile::FrameKind::kKernel: return kKernel;
    case profile::FrameKind::kV8Builtin: return kBuiltin;
    case profile::FrameKind::kGc: return kGc;
    case profile::FrameKind::kUnknown: return kUnknown;
  }
  return kUnknown;
}

template <typename T, typename Fn>
void append_array(std::string& out, const std::vector<T>& v, Fn each) {
  out.push_back('[');
  for (size_t i = 0; i < v.size(); i++) {
    if (i) out.push_back(',');
    each(v[i]);
  }
  out.push_back(']');
}

// What base's values were multiplied by to match head's total (`loopperf diff -o` stores it for the
// count type), so the page can show base's own sample counts next to the shares. 0 when unknown.
double base_scale(const profile::Profile& p, const detail::ValueChoice& value) {
  if (value.index != p.value_index("samples").value_or(0)) return 0;
  return profile::diff_base_scale(p).value_or(0);
}

void append_phases(std::string& data, const std::map<std::string_view, int64_t>& totals) {
  // Loop order, so that the strip reads like one iteration of uv_run.
  std::vector<std::pair<std::string, int64_t>> ph(totals.begin(), totals.end());
  std::stable_sort(ph.begin(), ph.end(), [](const auto& a, const auto& b) {
    return detail::phase_rank(a.first) < detail::phase_rank(b.first);
  });
  data.push_back('[');
  for (size_t k = 0; k < ph.size(); k++) {
    if (k) data.push_back(',');
    data.push_back('[');
    detail::append_json_string(data, ph[k].first);
    data += "," + std::to_string(ph[k].second) + "]";
  }
  data.push_back(']');
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<std::string> to_html_flamegraph(const profile::Profile& p, const HtmlOptions& opt) {
  auto stacks = detail::collect_stacks(p, {.phase_roots = opt.phase_roots,
                                           .value_type = opt.value_type,
                                           .preference = detail::ValuePreference::kCount,
                                           .diff = detail::DiffMode::kSplit,
                                           .writer = "html"});
  if (!stacks) return stacks.error();
  const bool diff = stacks->diff;
  detail::sort_samples(*stacks);
  auto& frames = stacks->frames;
  const bool by_thread = stacks->has_thread_labels;
  std::vector<uint32_t> thread_frame;
  for (const auto& t : stacks->threads) {
    detail::FrameInfo f;
    f.name = t.label();
    f.file = t.role;
    f.synthetic = detail::SyntheticKind::kThread;
    thread_frame.push_back(static_cast<uint32_t>(frames.size()));
    frames.push_back(std::move(f));
  }

  // A diff profile's base and head samples go into one tree, each side summed apart per node.
  detail::CallTree tree;
  std::vector<std::map<std::string_view, int64_t>> phase_totals(stacks->threads.size());
  std::vector<std::map<std::string_view, int64_t>> base_phase_totals(stacks->threads.size());
  for (const auto& s : stacks->samples) {
    uint32_t cur = by_thread ? tree.child(0, thread_frame[s.thread]) : 0;
    for (uint32_t f : s.frames) cur = tree.child(cur, f);
    if (s.base) {
      tree.add_base(cur, s.value);
      if (!s.phase.empty()) base_phase_totals[s.thread][s.phase] += s.value;
    } else {
      tree.add(cur, s.value);
      if (!s.phase.empty()) phase_totals[s.thread][s.phase] += s.value;
    }
  }

  std::string data;
  data.reserve(1 << 16);
  data += "{\"title\":";
  const std::string title = !opt.title.empty() ? opt.title : (diff ? "diff: " : "") + detail::profile_title(p);
  detail::append_json_string(data, title);
  data += ",\"valueType\":";
  detail::append_json_string(data, stacks->value.type.type);
  data += ",\"valueUnit\":";
  detail::append_json_string(data, stacks->value.type.unit);
  const bool periodic = stacks->value.type.unit == "count" && p.period > 0 && p.period_type.unit == "nanoseconds";
  data += ",\"periodNs\":" + std::to_string(periodic ? p.period : 0);
  data += ",\"total\":" + std::to_string(stacks->total);
  data += ",\"phaseRoots\":" + std::string(opt.phase_roots ? "true" : "false");
  if (diff) {
    // Present only for a diff, so that an ordinary profile's page data is what it always was.
    data += ",\"diff\":{\"baseTotal\":" + std::to_string(stacks->base_total);
    data += ",\"baseScale\":" + std::to_string(base_scale(p, stacks->value));
    data += ",\"baseFile\":";
    detail::append_json_string(data, p.meta(profile::kDiffBaseFileMeta));
    data += ",\"headFile\":";
    detail::append_json_string(data, p.meta(profile::kDiffHeadFileMeta));
    data += ",\"baseCmdline\":";
    detail::append_json_string(data, p.meta(profile::kDiffBaseCmdlineMeta));
    data += "}";
  }
  data += ",\"frames\":{\"name\":";
  append_array(data, frames, [&](const detail::FrameInfo& f) { detail::append_json_string(data, f.name); });
  data += ",\"file\":";
  append_array(data, frames, [&](const detail::FrameInfo& f) { detail::append_json_string(data, f.file); });
  data += ",\"line\":";
  append_array(data, frames, [&](const detail::FrameInfo& f) { data += std::to_string(f.line); });
  data += ",\"kind\":";
  append_array(data, frames, [&](const detail::FrameInfo& f) { data += std::to_string(page_kind(f)); });
  data += "},\"threads\":[";
  for (size_t t = 0; t < stacks->threads.size(); t++) {
    const auto& th = stacks->threads[t];
    if (t) data.push_back(',');
    data += "{\"label\":";
    detail::append_json_string(data, th.label());
    data += ",\"role\":";
    detail::append_json_string(data, th.role);
    data += ",\"total\":" + std::to_string(th.total) + ",\"phases\":";
    append_phases(data, phase_totals[t]);
    if (diff) {
      data += ",\"baseTotal\":" + std::to_string(th.base_total) + ",\"basePhases\":";
      append_phases(data, base_phase_totals[t]);
    }
    data += "}";
  }
  // The tree in preorder as (frame, child count, width) triples; frame -1 is the root. The width is
  // the total, or for a diff max(base, head) made to nest (CallTree::diff_widths), with each side's
  // totals in the same preorder in "head" and "base".
  data += "],\"tree\":[";
  const auto& nodes = tree.nodes();
  const std::vector<int64_t> widths = diff ? tree.diff_widths() : std::vector<int64_t>{};
  std::string head_totals, base_totals;
  std::vector<uint32_t> todo = {0};
  bool first = true;
  while (!todo.empty()) {
    uint32_t n = todo.back();
    todo.pop_back();
    if (!first) data.push_back(',');
    data += (n == 0 ? std::string("-1") : std::to_string(nodes[n].frame)) + "," +
            std::to_string(nodes[n].children.size()) + "," + std::to_string(diff ? widths[n] : nodes[n].total);
    if (diff) {
      head_totals += (first ? "" : ",") + std::to_string(nodes[n].total);
      base_totals += (first ? "" : ",") + std::to_string(nodes[n].base_total);
    }
    first = false;
    for (auto it = nodes[n].children.rbegin(); it != nodes[n].children.rend(); ++it) todo.push_back(*it);
  }
  data += "]";
  if (diff) data += ",\"head\":[" + head_totals + "],\"base\":[" + base_totals + "]";
  data += "}";

  // Markers are filled in one pass in template order, never searched for inside inserted text, so a
  // frame name that happens to contain one stays as it is.
  const std::string escaped_title = html_escape(title);
  const std::pair<std::string_view, std::string_view> fills[] = {
      {"__LOOPPERF_TITLE__", escaped_title},
      {"/*LOOPPERF_STYLE*/", detail::kFlamegraphCss},
      {"/*LOOPPERF_SCRIPT*/", detail::kFlamegraphJs},
      {"__LOOPPERF_DATA__", data},
  };
  const std::string_view tmpl(detail::kFlamegraphHtml);
  std::string page;
  page.reserve(tmpl.size() + data.size() + 32768);
  for (size_t from = 0;;) {
    size_t at = std::string_view::npos;
    const std::pair<std::string_view, std::string_view>* which = nullptr;
    for (const auto& f : fills) {
      size_t pos = tmpl.find(f.first, from);
      if (pos < at) {
        at = pos;
        which = &f;
      }
    }
    if (!which) {
      page += tmpl.substr(from);
      break;
    }
    page += tmpl.substr(from, at - from);
    page += which->second;
    from = at + which->first.size();
  }
  return page;
}

}  // namespace loopperf::formats
