#include "loopperf/formats/html_flamegraph.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "html/html_template.h"
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
                                           .preference = detail::ValuePreference::kCount});
  if (!stacks) return stacks.error();
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

  detail::CallTree tree;
  std::vector<std::map<std::string, int64_t>> phase_totals(stacks->threads.size());
  for (const auto& s : stacks->samples) {
    uint32_t cur = by_thread ? tree.child(0, thread_frame[s.thread]) : 0;
    for (uint32_t f : s.frames) cur = tree.child(cur, f);
    tree.add(cur, s.value);
    if (!s.phase.empty()) phase_totals[s.thread][s.phase] += s.value;
  }

  std::string data;
  data.reserve(1 << 16);
  data += "{\"title\":";
  const std::string title = opt.title.empty() ? detail::profile_title(p) : opt.title;
  detail::append_json_string(data, title);
  data += ",\"valueType\":";
  detail::append_json_string(data, stacks->value.type.type);
  data += ",\"valueUnit\":";
  detail::append_json_string(data, stacks->value.type.unit);
  const bool periodic = stacks->value.type.unit == "count" && p.period > 0 && p.period_type.unit == "nanoseconds";
  data += ",\"periodNs\":" + std::to_string(periodic ? p.period : 0);
  data += ",\"total\":" + std::to_string(stacks->total);
  data += ",\"phaseRoots\":" + std::string(opt.phase_roots ? "true" : "false");
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
    data += ",\"total\":" + std::to_string(th.total) + ",\"phases\":[";
    // Loop order, so that the strip reads like one iteration of uv_run.
    std::vector<std::pair<std::string, int64_t>> ph(phase_totals[t].begin(), phase_totals[t].end());
    std::stable_sort(ph.begin(), ph.end(), [](const auto& a, const auto& b) {
      return detail::phase_rank(a.first) < detail::phase_rank(b.first);
    });
    for (size_t k = 0; k < ph.size(); k++) {
      if (k) data.push_back(',');
      data.push_back('[');
      detail::append_json_string(data, ph[k].first);
      data += "," + std::to_string(ph[k].second) + "]";
    }
    data += "]}";
  }
  // The tree in preorder as (frame, child count, total) triples; frame -1 is the root.
  data += "],\"tree\":[";
  const auto& nodes = tree.nodes();
  std::vector<uint32_t> todo = {0};
  bool first = true;
  while (!todo.empty()) {
    uint32_t n = todo.back();
    todo.pop_back();
    if (!first) data.push_back(',');
    first = false;
    data += (n == 0 ? std::string("-1") : std::to_string(nodes[n].frame)) + "," +
            std::to_string(nodes[n].children.size()) + "," + std::to_string(nodes[n].total);
    for (auto it = nodes[n].children.rbegin(); it != nodes[n].children.rend(); ++it) todo.push_back(*it);
  }
  data += "]}";

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
