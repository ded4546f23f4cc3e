#include "loopperf/report/dump.h"

#include <cstdio>

#include "loopperf/common/json.h"
#include "report_internal.h"

namespace loopperf::report {

std::vector<StackFrame> stack_frames(const profile::Profile& p, const profile::SampleView& s) {
  std::vector<StackFrame> out;
  for (const auto& f : expand(p, s))
    out.push_back(StackFrame{std::string(f.name), f.fn ? f.fn->file : "", f.line, profile::frame_kind_name(f.kind)});
  return out;
}

namespace {
std::string micros(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f µs", static_cast<double>(ns) / 1e3);
  return buf;
}
}  // namespace

std::string render_dump_text(const Dump& d) {
  std::string out = "pid " + std::to_string(d.pid);
  if (!d.cmdline.empty()) out += "  " + d.cmdline;
  if (!d.node_version.empty()) out += "  (node " + d.node_version + ")";
  out += "\n";
  if (!d.js_names.empty()) out += "JavaScript names: " + d.js_names + "\n";
  for (const auto& t : d.threads) {
    out += "\nthread " + std::to_string(t.tid) + " " + t.name;
    if (!t.role.empty()) out += "  " + t.role;
    if (!t.phase.empty()) out += "  phase=" + t.phase;
    if (!t.activity.empty()) out += "  activity=" + t.activity;
    if (!t.syscall.empty()) out += "  in " + t.syscall + "()";
    out += "\n";
    if (!t.error.empty()) {
      out += "    (" + t.error + ")\n";
      continue;
    }
    for (const auto& f : t.frames) {
      out += "    " + f.name;
      if (!f.file.empty()) out += "  " + f.file + (f.line ? ":" + std::to_string(f.line) : "");
      out += "\n";
    }
    // Truncation the reader should know about; the ordinary ends of a walk are not worth a line.
    if (t.unwind_end == "stack-copy-too-short" || t.unwind_end == "no-unwind-info" ||
        t.unwind_end == "unknown-module" || t.unwind_end == "max-depth")
      out += "    (stack ends here: " + t.unwind_end + ")\n";
  }
  out += "\nthe target was stopped one thread at a time: at most " + micros(d.max_stopped_ns) + " per thread, " +
         micros(d.total_stopped_ns) + " in total\n";
  return out;
}

namespace {
void write_dump(JsonWriter& w, const Dump& d) {
  w.begin_object();
  w.field("pid", d.pid).field("cmdline", d.cmdline).field("node_version", d.node_version).field("js_names", d.js_names);
  w.field("max_stopped_ns", d.max_stopped_ns).field("total_stopped_ns", d.total_stopped_ns);
  w.key("threads").begin_array();
  for (const auto& t : d.threads) {
    w.begin_object();
    w.field("tid", t.tid).field("name", t.name).field("role", t.role).field("phase", t.phase);
    w.field("activity", t.activity).field("syscall", t.syscall).field("stopped_ns", t.stopped_ns);
    w.field("unwind_end", t.unwind_end).field("error", t.error);
    w.key("frames").begin_array();
    for (const auto& f : t.frames)
      w.begin_object().field("name", f.name).field("file", f.file).field("line", f.line).field("kind", f.kind).end_object();
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
}
}  // namespace

std::string render_dump_json(const Dump& d) {
  JsonWriter w;
  write_dump(w, d);
  return w.str() + "\n";
}

std::string render_dumps_json(const std::vector<Dump>& dumps) {
  JsonWriter w;
  w.begin_object().key("processes").begin_array();
  for (const auto& d : dumps) write_dump(w, d);
  w.end_array().end_object();
  return w.str() + "\n";
}

std::string render_dumps_text(const std::vector<Dump>& dumps) {
  std::string out;
  for (const auto& d : dumps) out += (out.empty() ? "" : "\n\n") + render_dump_text(d);
  return out;
}

}  // namespace loopperf::report
