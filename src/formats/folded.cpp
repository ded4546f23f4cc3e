#include "loopperf/formats/folded.h"

#include <algorithm>
#include <map>

#include "stacks.h"

namespace loopperf::formats {

namespace {

void append_element(std::string& out, std::string_view name) {
  for (char c : name) out.push_back(c == ';' ? ':' : c == '\n' || c == '\r' ? ' ' : c);
}

}  // namespace

Result<std::string> to_folded(const profile::Profile& p, const FoldedOptions& opt) {
  auto stacks = detail::collect_stacks(p, {.phase_roots = opt.phase_roots,
                                           .value_type = opt.value_type,
                                           .preference = detail::ValuePreference::kCount,
                                           .diff = detail::DiffMode::kRefuse,
                                           .writer = "folded"});
  if (!stacks) return stacks.error();
  // Equal lines merge: pprof may hold one stack several times with different unknown labels.
  std::map<std::string, int64_t> lines;
  std::string line;
  for (const auto& s : stacks->samples) {
    line.clear();
    if (stacks->has_thread_labels) append_element(line, stacks->threads[s.thread].label());
    for (uint32_t f : s.frames) {
      if (!line.empty()) line.push_back(';');
      append_element(line, stacks->frames[f].name);
    }
    if (line.empty()) line = "[no frames]";
    lines[line] += s.value;
  }
  std::string out;
  for (const auto& [stack, count] : lines) {
    out += stack;
    out.push_back(' ');
    out += std::to_string(count);
    out.push_back('\n');
  }
  return out;
}

}  // namespace loopperf::formats
