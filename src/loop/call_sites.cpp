#include "loopperf/loop/call_sites.h"

#include <algorithm>
#include <cstring>

namespace loopperf::loop {

namespace {
std::string strip_clone_suffix(const std::string& name) {
  // GCC clones: uv__async_io.part.0, .cold, .isra.0, .constprop.0
  size_t dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}
}  // namespace

std::optional<Phase> phase_of_callee(std::string_view callee) {
  static const std::pair<std::string_view, Phase> kCallees[] = {
      {"uv__run_timers", Phase::kTimers},
      {"uv__run_pending", Phase::kPending},
      {"uv__run_idle", Phase::kIdle},
      {"uv__run_prepare", Phase::kPrepare},
      {"uv__io_poll", Phase::kPoll},
      // uv__backend_timeout (inlined) computes the poll's timeout through uv__next_timeout; GCC
      // places that path out of line after the end-of-iteration timers (node 20: uv_run+0x3df),
      // where the region rule below would say "timers".
      {"uv__next_timeout", Phase::kPoll},
      {"uv__run_check", Phase::kCheck},
      {"uv__run_closing_handles", Phase::kClose},
      {"uv__finish_close", Phase::kClose},
      {"uv__stream_destroy", Phase::kClose},
      {"uv__udp_finish_close", Phase::kClose},
  };
  for (const auto& [name, phase] : kCallees)
    if (callee == name) return phase;
  return std::nullopt;
}

CallSiteTable CallSiteTable::build(const UvRunCode& code) {
  CallSiteTable t;
  t.size_ = code.bytes.size();
  const auto& b = code.bytes;
  for (size_t i = 0; i + 5 <= b.size(); i++) {
    if (b[i] != 0xe8) continue;
    int32_t rel;
    std::memcpy(&rel, &b[i + 1], 4);
    uint64_t target = code.start + i + 5 + static_cast<int64_t>(rel);
    // Only calls landing exactly on a named function start count: a stray 0xe8 inside another
    // instruction practically never does.
    std::string name = code.symbol_at ? code.symbol_at(target) : std::string();
    if (name.empty()) continue;
    t.sites_.push_back(Site{i + 5, strip_clone_suffix(name)});
  }
  auto first_call = [&](std::string_view callee) -> uint64_t {
    for (const auto& s : t.sites_)
      if (s.callee == callee) return s.return_offset;
    return 0;
  };
  t.idle_ = first_call("uv__run_idle");
  t.prepare_ = first_call("uv__run_prepare");
  t.poll_ = first_call("uv__io_poll");
  t.check_ = first_call("uv__run_check");
  if (!t.idle_ || !t.prepare_ || !t.poll_ || !t.check_ || !(t.idle_ < t.prepare_ && t.prepare_ < t.poll_ &&
                                                            t.poll_ < t.check_)) {
    t.problem_ =
        "uv_run's calls to uv__run_idle/uv__run_prepare/uv__io_poll/uv__run_check were not found (libuv's "
        "internal symbols are missing: a stripped binary or a shared libuv without .symtab)";
    return t;
  }
  for (const auto& s : t.sites_) {
    if (s.callee != "uv__run_timers") continue;
    if (s.return_offset < t.idle_ && !t.first_timers_) t.first_timers_ = s.return_offset;
    if (s.return_offset > t.check_) {
      // End-of-iteration timers (libuv >= 1.45, or UV_RUN_ONCE): the update_time (uv__hrtime)
      // call right before it belongs to the same step.
      uint64_t start = s.return_offset - 5;
      for (const auto& h : t.sites_)
        if (h.callee == "uv__hrtime" && h.return_offset > t.check_ && h.return_offset <= s.return_offset)
          start = std::min(start, h.return_offset - 5);
      if (!t.end_timers_ || start < t.end_timers_) t.end_timers_ = start;
    }
  }
  return t;
}

const CallSiteTable::Site* CallSiteTable::call_returning_to(uint64_t offset) const {
  for (const auto& s : sites_)
    if (s.return_offset == offset) return &s;
  return nullptr;
}

Phase CallSiteTable::phase_at(uint64_t offset) const {
  if (!usable() || offset > size_) return Phase::kUnknown;
  const Site* direct = call_returning_to(offset);
  if (direct) {
    if (auto p = phase_of_callee(direct->callee)) return *p;
  }
  if (offset < idle_ - 5) {
    // Before the idle call: the loop's top. Timers run first when they are called here
    // (pre-loop in libuv >= 1.45, every iteration before 1.45); then the inlined pending phase.
    return first_timers_ && offset <= first_timers_ ? Phase::kTimers : Phase::kPending;
  }
  if (offset <= idle_) return Phase::kIdle;
  if (offset <= prepare_) return Phase::kPrepare;
  if (offset <= poll_) return Phase::kPoll;  // computing the poll timeout, then the poll itself
  if (offset < check_ - 5) {
    // Between poll and check: the inlined post-poll pending rounds (indirect calls) and the idle-
    // time metrics (a direct call).
    return direct ? Phase::kPoll : Phase::kPending;
  }
  if (offset <= check_) return Phase::kCheck;
  if (end_timers_ && offset > end_timers_) return Phase::kTimers;
  return Phase::kClose;  // inlined uv__run_closing_handles / uv__finish_close
}

}  // namespace loopperf::loop
