#include "loopperf/formats/html_flamegraph.h"

#include <algorithm>
#include <map>
#include <span>
#include <string_view>

#include "html/html_template.h"
#include "loopperf/profile/diff_convention.h"
#include "sink.h"
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

struct Fill {
  std::string_view marker, text;
};
constexpr std::string_view kDataMarker = "__LOOPPERF_DATA__";

// Appends the page template from `from` with its markers filled, up to the data marker (returning
// where the template goes on after it) or to its end (returning npos). Markers are found in the
// template only, never searched for inside inserted text, so a frame name that happens to contain
// one stays as it is.
size_t fill_template(std::string& out, size_t from, std::span<const Fill> fills) {
  const std::string_view tmpl(detail::kFlamegraphHtml);
  for (;;) {
    size_t at = tmpl.find(kDataMarker, from);
    const Fill* fill = nullptr;  // none: the data marker
    for (const auto& f : fills)
      if (size_t pos = tmpl.find(f.marker, from); pos < at) {
        at = pos;
        fill = &f;
      }
    if (at == std::string_view::npos) {
      out += tmpl.substr(from);
      return std::string_view::npos;
    }
    out += tmpl.substr(from, at - from);
    if (!fill) return at + kDataMarker.size();
    out += fill->text;
    from = at + fill->marker.size();
  }
}

}  // namespace

namespace detail {

Status write_html_flamegraph(const profile::Profile& p, const HtmlOptions& opt, Sink& sink) {
  auto stacks = collect_stacks(p, {.phase_roots = opt.phase_roots,
                                   .value_type = opt.value_type,
                                   .preference = ValuePreference::kCount,
                                   .diff = DiffMode::kSplit,
                                   .writer = "html"});
  if (!stacks) return stacks.error();
  const bool diff = stacks->diff;
  const bool by_thread = stacks->has_thread_labels;
  sort_for_tree(*stacks, by_thread);
  auto& frames = stacks->frames;
  std::vector<uint32_t> thread_frame;
  for (const auto& t : stacks->threads) {
    FrameInfo f;
    f.name = t.label();
    f.file = t.role;
    f.synthetic = SyntheticKind::kThread;
    thread_frame.push_back(static_cast<uint32_t>(frames.size()));
    frames.push_back(std::move(f));
  }
  // A diff profile's base and head samples are summed apart.
  std::vector<std::map<std::string_view, int64_t>> phase_totals(stacks->threads.size());
  std::vector<std::map<std::string_view, int64_t>> base_phase_totals(stacks->threads.size());
  for (const auto& s : stacks->samples) {
    if (const std::string_view phase = stacks->phase(s); !phase.empty())
      (s.base ? base_phase_totals : phase_totals)[s.thread][phase] += s.value;
  }

  std::string& data = sink.out();
  const std::string title = !opt.title.empty() ? opt.title : (diff ? "diff: " : "") + profile_title(p);
  const std::string escaped_title = html_escape(title);
  const Fill fills[] = {
      {"__LOOPPERF_TITLE__", escaped_title},
      {"/*LOOPPERF_STYLE*/", kFlamegraphCss},
      {"/*LOOPPERF_SCRIPT*/", kFlamegraphJs},
  };
  // The page up to its data, which is written into the sink as it is made, then the rest.
  const size_t after_data = fill_template(data, 0, fills);
  if (after_data == std::string_view::npos)
    return make_error(ErrorCode::kInternal, "the flame graph template has no data marker");

  data += "{\"title\":";
  append_json_string(data, title);
  data += ",\"valueType\":";
  append_json_string(data, stacks->value.type.type);
  data += ",\"valueUnit\":";
  append_json_string(data, stacks->value.type.unit);
  const bool periodic = stacks->value.type.unit == "count" && p.period > 0 && p.period_type.unit == "nanoseconds";
  data += ",\"periodNs\":" + std::to_string(periodic ? p.period : 0);
  data += ",\"total\":" + std::to_string(stacks->total);
  data += ",\"phaseRoots\":" + std::string(opt.phase_roots ? "true" : "false");
  if (diff) {
    // Present only for a diff, so that an ordinary profile's page data is what it always was.
    data += ",\"diff\":{\"baseTotal\":" + std::to_string(stacks->base_total);
    data += ",\"baseScale\":" + std::to_string(base_scale(p, stacks->value));
    data += ",\"baseFile\":";
    append_json_string(data, p.meta(profile::kDiffBaseFileMeta));
    data += ",\"headFile\":";
    append_json_string(data, p.meta(profile::kDiffHeadFileMeta));
    data += ",\"baseCmdline\":";
    append_json_string(data, p.meta(profile::kDiffBaseCmdlineMeta));
    data += "}";
  }
  data += ",\"frames\":{\"name\":";
  append_array(data, frames, [&](const FrameInfo& f) { append_json_string(data, f.name); });
  data += ",\"file\":";
  append_array(data, frames, [&](const FrameInfo& f) { append_json_string(data, f.file); });
  data += ",\"line\":";
  append_array(data, frames, [&](const FrameInfo& f) { data += std::to_string(f.line); });
  data += ",\"kind\":";
  append_array(data, frames, [&](const FrameInfo& f) { data += std::to_string(page_kind(f)); });
  data += "},\"threads\":[";
  for (size_t t = 0; t < stacks->threads.size(); t++) {
    const auto& th = stacks->threads[t];
    if (t) data.push_back(',');
    data += "{\"label\":";
    append_json_string(data, th.label());
    data += ",\"role\":";
    append_json_string(data, th.role);
    data += ",\"total\":" + std::to_string(th.total) + ",\"phases\":";
    append_phases(data, phase_totals[t]);
    if (diff) {
      data += ",\"baseTotal\":" + std::to_string(th.base_total) + ",\"basePhases\":";
      append_phases(data, base_phase_totals[t]);
    }
    data += "}";
  }
  sink.spill();

  // The call tree, never held whole: walked backward over the samples (walk_tree), each node is
  // written when it closes as (frame, child count, width), frame -1 for the root, and for a diff
  // (..., head total, base total). The page reads the list from its end: that is the preorder. The
  // width is the total, or for a diff max(base, head) made to nest: at least its children's widths
  // together, so that a caller whose callee vanished and whose other callee appeared fits both.
  data += "],\"tree\":[";
  struct Open {
    int64_t frame;
    int64_t children = 0, total = 0, base = 0, widths = 0;
  };
  std::vector<Open> open = {{-1}};
  bool first = true;
  auto close = [&] {
    const Open n = open.back();
    open.pop_back();
    const int64_t width = diff ? std::max({n.total, n.base, n.widths}) : n.total;
    if (!first) data.push_back(',');
    first = false;
    data += std::to_string(n.frame) + "," + std::to_string(n.children) + "," + std::to_string(width);
    if (diff) data += "," + std::to_string(n.total) + "," + std::to_string(n.base);
    sink.spill();
    if (open.empty()) return;
    auto& parent = open.back();
    parent.children++;
    parent.total += n.total;
    parent.base += n.base;
    parent.widths += width;
  };
  walk_tree(
      *stacks, /*backward=*/true, by_thread ? &thread_frame : nullptr,
      [&](uint32_t frame) { open.push_back({frame}); }, close,
      [&](size_t k) {
        const auto& s = stacks->samples[k];
        (s.base ? open.back().base : open.back().total) += s.value;
      });
  close();  // the root
  data += "]}";
  fill_template(data, after_data, fills);
  return {};
}

}  // namespace detail

Result<std::string> to_html_flamegraph(const profile::Profile& p, const HtmlOptions& opt) {
  return detail::to_string(&detail::write_html_flamegraph, p, opt);
}

}  // namespace loopperf::formats
