// Text, Markdown and JSON renderings of a DiffResult (docs/diff.md shows each).
#include "loopperf/diff/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "loopperf/common/duration.h"
#include "loopperf/common/json.h"
#include "loopperf/diff/stats.h"

namespace loopperf::diff {

namespace {

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

std::string pct(double share) { return fmt("%.1f%%", share * 100); }
std::string pp(double change) { return fmt("%+.1f pp", change * 100); }

std::string p_text(double p) {
  if (p < 1e-12) return "<1e-12";
  if (p < 1e-3) return fmt("%.0e", p);
  return fmt("%.3f", p);
}

std::string kind(const Row& r) {
  std::string k(family_name(r.family));
  if (r.family == Family::kPhase || r.family == Family::kActivity) k += " (" + r.population + ")";
  return k;
}

std::string side_line(const char* label, const Side& s) {
  std::string out = fmt("  %s  %s", label, s.file.empty() ? "-" : s.file.c_str());
  if (s.runs > 1) out += fmt(" (%zu recordings)", s.runs);
  if (!s.cmdline.empty()) out += "  (" + s.cmdline + ")";
  out += fmt("  %.0f samples", s.samples);
  if (s.duration_nanos > 0) out += " in " + format_duration(std::chrono::nanoseconds(s.duration_nanos));
  return out + "\n";
}

// Every cell of a UTF-8 string counts as one column, which holds for names and the symbols used here.
size_t columns(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

std::string pad(std::string s, size_t width) {
  size_t w = columns(s);
  if (w > width) {
    while (!s.empty() && columns(s) > width - 1) s.pop_back();
    while (!s.empty() && (s.back() & 0xc0) == 0x80) s.pop_back();  // never cut a character in half
    if (!s.empty() && (s.back() & 0x80)) s.pop_back();
    return s + "…" + std::string(width - std::min(width, columns(s) + 1), ' ');
  }
  return s + std::string(width - w, ' ');
}

const Row* strongest_tested(const DiffResult& d) {
  const Row* best = nullptr;
  for (const auto& r : d.rows)
    if (r.tested && (!best || std::fabs(r.z) > std::fabs(best->z))) best = &r;
  return best;
}

std::string rule(const DiffResult& d) {
  double alpha = 1 - d.options.confidence;
  std::string out = fmt("a change is reported when it is at least %.1f pp and significant at %g%% confidence (",
                        d.options.threshold * 100, d.options.confidence * 100);
  if (d.runs_measured)
    out += fmt("Welch's t per row on the shares of %zu and %zu recordings, each row's spread between runs "
               "weighed against the run noise all rows show, %.1f%% beyond sampling; Holm-corrected over %zu rows)",
               d.base.runs, d.head.runs, d.run_noise * 100, d.tests);
  else
    out += fmt("pooled two-proportion z-test per row allowing %g%% run-to-run noise, Holm-corrected over %zu rows",
               d.run_noise * 100, d.tests) +
           (d.tests ? fmt("; the strongest row needs |z| >= %.2f)",
                          normal_critical_z(alpha / static_cast<double>(d.tests)))
                    : std::string(")"));
  return out;
}

// What one recording per side cannot tell (issue: run-to-run variation is assumed, not measured).
constexpr const char* kOneRunNote =
    "one recording per side: how much shares vary between runs is assumed (--run-noise), not measured; JIT\n"
    "  decisions and machine load can move an unchanged function by several points between two runs. For a\n"
    "  verdict that measures it, record 3 or more runs per side and give a directory for each (docs/diff.md).";

std::string scales(const DiffResult& d) {
  std::string out;
  for (const auto& p : d.populations) {
    if (!out.empty()) out += ", ";
    out += p.name + fmt(" x%.3f", p.scale);
    if (!p.scale_rows)
      out += " (too few functions to estimate it: shares compared as they are)";
    else if (p.scale_median)
      out += fmt(" ±%.1f%% (the median of %zu functions, which do not agree: a wide error)", p.scale_se * 100,
                 p.scale_rows);
    else
      out += fmt(" ±%.1f%% (%zu functions agree)", p.scale_se * 100, p.scale_rows);
  }
  return out;
}

std::vector<const Row*> shown(const DiffResult& d, bool all) {
  std::vector<const Row*> out;
  for (const auto& r : d.rows)
    if (r.reported() || (all && r.tested)) out.push_back(&r);
  return out;
}

std::string headline(const DiffResult& d) {
  size_t reg = d.count(Verdict::kRegression), imp = d.count(Verdict::kImprovement);
  return fmt("%zu regression%s, %zu improvement%s", reg, reg == 1 ? "" : "s", imp, imp == 1 ? "" : "s");
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '`')
      out += '\'';
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string render_text(const DiffResult& d, bool all) {
  std::string out = "loopperf diff: " + headline(d) + "\n";
  out += side_line("base", d.base);
  out += side_line("head", d.head);
  out += "  " + rule(d) + "\n\n";
  auto rows = shown(d, all);
  if (rows.empty()) {
    out += fmt("No share changed by %.1f pp or more beyond sampling noise.", d.options.threshold * 100);
    if (const Row* s = strongest_tested(d))
      out += fmt(" Strongest row: %s %s, %s -> %s, z %+.2f.", std::string(family_name(s->family)).c_str(),
                 s->name.c_str(), pct(s->base_share).c_str(), pct(s->head_share).c_str(), s->z);
    out += "\n";
  } else {
    out += "  " + pad("verdict", 16) + pad("kind", 22) + pad("what", 46) +
           fmt("%7s %7s %10s %7s %9s\n", "base", "head", "change", d.runs_measured ? "t" : "z", "p (Holm)");
    bool any_relative = false;
    for (const Row* r : rows) {
      std::string v(verdict_name(r->verdict));
      if (r->verdict == Verdict::kRegression) v = "REGRESSION";
      any_relative |= r->verdict == Verdict::kRelative;
      out += "  " + pad(v, 16) + pad(kind(*r), 22) + pad(r->name, 46) +
             fmt("%7s %7s %10s %+7.2f %9s\n", pct(r->base_share).c_str(), pct(r->head_share).c_str(),
                 pp(r->change).c_str(), r->z, p_text(r->p_adjusted).c_str());
    }
    if (any_relative)
      out +=
          "\n  relative: the share moved because other code got cheaper or dearer; against the rest of the\n"
          "  profile (rescaled as below) the change is below the threshold or not significant: not "
          "counted.\n";
  }
  out += "\n  rescaled: " + scales(d) + "\n";
  for (const auto& s : d.skipped) out += "  skipped: " + s.what + ": " + s.reason + "\n";
  if (!d.runs_measured) out += std::string("\n  ") + kOneRunNote + "\n";
  return out;
}

std::string render_markdown(const DiffResult& d, bool all) {
  std::string out = "### loopperf diff: " + headline(d) + "\n\n";
  auto rows = shown(d, all);
  if (rows.empty()) {
    out += fmt("No share changed by %.1f pp or more beyond sampling noise.\n", d.options.threshold * 100);
  } else {
    out += std::string("| | what | kind | base | head | change | ") + (d.runs_measured ? "t" : "z") +
           " | p (Holm) |\n|---|---|---|--:|--:|--:|--:|--:|\n";
    for (const Row* r : rows) {
      std::string v;
      switch (r->verdict) {
        case Verdict::kRegression:
          v = "🔴 **regression**";
          break;
        case Verdict::kImprovement:
          v = "🟢 improvement";
          break;
        case Verdict::kRelative:
          v = "⚪ relative";
          break;
        default:
          v = std::string(verdict_name(r->verdict));
      }
      std::string change = pp(r->change);
      if (r->verdict == Verdict::kRegression) change = "**" + change + "**";
      out += "| " + v + " | `" + md_escape(r->name) + "` | " + md_escape(kind(*r)) + " | " +
             pct(r->base_share) + " | " + pct(r->head_share) + " | " + change + fmt(" | %+.1f | ", r->z) +
             p_text(r->p_adjusted) + " |\n";
    }
  }
  auto side = [](const Side& s) {
    return md_escape(s.file) + (s.runs > 1 ? fmt(" (%zu recordings, %.0f samples)", s.runs, s.samples)
                                           : fmt(" (%.0f samples)", s.samples));
  };
  out += "\n<sub>base: " + side(d.base) + " · head: " + side(d.head) + " · " + md_escape(rule(d)) + ".";
  if (!d.runs_measured)
    out += " One recording per side: run-to-run variation is assumed, not measured; record 3 or more runs per "
           "side for a verdict that measures it.";
  if (std::any_of(rows.begin(), rows.end(), [](const Row* r) { return r->verdict == Verdict::kRelative; }))
    out +=
        " <i>relative</i>: moved only because other code changed (rescaled: " + md_escape(scales(d)) + ").";
  // What neither profile has (loop metrics from an older recorder) is noise in every comment; what
  // only one side has is worth a note.
  for (const auto& s : d.skipped)
    if (s.reason.rfind("not in either", 0) != 0 && s.reason.rfind("neither", 0) != 0)
      out += " Skipped " + md_escape(s.what) + ": " + md_escape(s.reason) + ".";
  return out + "</sub>\n";
}

std::string render_json(const DiffResult& d, bool all) {
  JsonWriter w;
  w.begin_object();
  w.field("version", 1);
  for (auto [key, s] : {std::pair<const char*, const Side*>{"base", &d.base},
                        std::pair<const char*, const Side*>{"head", &d.head}}) {
    w.key(key).begin_object();
    w.field("file", s->file).field("cmdline", s->cmdline).field("samples", s->samples);
    w.field("duration_nanos", s->duration_nanos).field("runs", static_cast<uint64_t>(s->runs));
    w.key("files").begin_array();
    for (const auto& f : s->files) w.value(f);
    w.end_array().end_object();
  }
  w.key("settings").begin_object();
  w.field("threshold", d.options.threshold).field("confidence", d.options.confidence);
  w.field("run_noise", d.run_noise).field("run_noise_measured", d.runs_measured);
  if (d.runs_measured) w.field("prior_runs", d.options.prior_runs);
  w.field("alpha", 1 - d.options.confidence)
      .field("test", d.runs_measured ? "welch-t-moderated" : "two-proportion-z-pooled")
      .field("correction", "holm");
  w.field("count_type", d.count_type).end_object();
  w.field("tests", static_cast<uint64_t>(d.tests));
  const Row* strongest = strongest_tested(d);
  w.field("max_abs_z", strongest ? std::fabs(strongest->z) : 0.0);
  w.key("summary").begin_object();
  w.field("regressions", static_cast<uint64_t>(d.count(Verdict::kRegression)));
  w.field("improvements", static_cast<uint64_t>(d.count(Verdict::kImprovement)));
  w.field("relative", static_cast<uint64_t>(d.count(Verdict::kRelative))).end_object();
  w.key("populations").begin_array();
  for (const auto& p : d.populations) {
    w.begin_object()
        .field("name", p.name)
        .field("base_samples", p.base_samples)
        .field("head_samples", p.head_samples);
    w.field("scale", p.scale)
        .field("scale_se", p.scale_se)
        .field("scale_rows", static_cast<uint64_t>(p.scale_rows))
        .field("scale_median", p.scale_median);
    w.end_object();
  }
  w.end_array();
  w.key("rows").begin_array();
  for (const Row* r : shown(d, all)) {
    w.begin_object();
    w.field("verdict", verdict_name(r->verdict)).field("family", family_name(r->family));
    w.field("population", r->population).field("name", r->name);
    w.field("base_share", r->base_share).field("head_share", r->head_share).field("change", r->change);
    w.field("rescaled_change", r->rescaled_change).field("rescaled_z", r->rescaled_z);
    w.field("rescaled_p_adjusted", r->rescaled_p_adjusted);
    w.field("base_samples", r->base_count).field("base_total", r->base_total);
    w.field("head_samples", r->head_count).field("head_total", r->head_total);
    w.field("z", r->z).field("p", r->p).field("p_adjusted", r->p_adjusted);
    if (d.runs_measured && r->tested) w.field("df", r->df).field("run_noise", r->run_noise);
    else if (d.runs_measured) w.field("df", r->df);
    for (auto [key, runs] : {std::pair{"base_run_shares", &r->base_runs}, std::pair{"head_run_shares", &r->head_runs}}) {
      w.key(key).begin_array();
      for (const auto& c : *runs) w.value(c.n > 0 ? c.x / c.n : 0.0);
      w.end_array();
    }
    w.field("higher_is_worse", r->higher_is_worse).end_object();
  }
  w.end_array();
  w.key("skipped").begin_array();
  for (const auto& s : d.skipped)
    w.begin_object().field("what", s.what).field("reason", s.reason).end_object();
  w.end_array();
  w.end_object();
  return w.str() + "\n";
}

}  // namespace loopperf::diff
