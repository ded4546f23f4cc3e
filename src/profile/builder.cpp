#include "loopperf/profile/builder.h"

#include <algorithm>

#include "loopperf/common/syscalls.h"
#include "loopperf/profile/labels.h"
#include <map>
#include <tuple>
#include <unordered_map>

namespace loopperf::profile {

namespace {

struct PairHash {
  size_t operator()(const std::pair<uint64_t, bool>& k) const { return std::hash<uint64_t>()(k.first) ^ k.second; }
};

class Interner {
 public:
  explicit Interner(Profile& p) : p_(p) {}

  uint64_t mapping(const symbols::ResolvedFrame& r) {
    if (r.module.empty()) return 0;
    auto key = std::make_pair(r.module, r.map_start);
    auto it = mappings_.find(key);
    if (it != mappings_.end()) {
      // Kernel frames share one mapping whose bounds grow to cover every address seen.
      Mapping& m = p_.mappings[it->second - 1];
      if (r.origin == symbols::FrameOrigin::kKernel) {
        m.start = std::min(m.start, r.map_start);
        m.limit = std::max(m.limit, r.map_limit);
      }
      return it->second;
    }
    Mapping m;
    m.start = r.map_start;
    m.limit = r.map_limit;
    m.offset = r.map_offset;
    m.file = r.module;
    m.build_id = r.build_id;
    m.has_functions = true;  // we symbolized: tools must not try again against local files
    m.has_filenames = true;
    m.has_line_numbers = true;
    p_.mappings.push_back(std::move(m));
    return mappings_[key] = p_.mappings.size();
  }

  uint64_t function(const symbols::SourceFrame& f) {
    auto key = std::make_tuple(f.name, f.system_name, f.file);
    auto it = functions_.find(key);
    if (it != functions_.end()) return it->second;
    p_.functions.push_back(Function{f.name, f.system_name.empty() ? f.name : f.system_name, f.file, 0});
    return functions_[key] = p_.functions.size();
  }

 private:
  Profile& p_;
  std::map<std::pair<std::string, uint64_t>, uint64_t> mappings_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> functions_;
};

// Renumbers mappings so that the one for `file` is mapping 1.
void move_mapping_first(Profile& p, const std::string& file) {
  if (file.empty()) return;
  size_t found = p.mappings.size();
  for (size_t i = 0; i < p.mappings.size(); i++) {
    if (p.mappings[i].file == file) {
      found = i;
      break;
    }
  }
  if (found == 0 || found == p.mappings.size()) return;
  std::rotate(p.mappings.begin(), p.mappings.begin() + found, p.mappings.begin() + found + 1);
  // Old id found+1 becomes 1; old ids 1..found shift up by one.
  for (auto& loc : p.locations) {
    if (loc.mapping_id == found + 1) loc.mapping_id = 1;
    else if (loc.mapping_id >= 1 && loc.mapping_id <= found) loc.mapping_id++;
  }
}

// Where the JavaScript frames' names came from, per location, counted per sample frame into the
// metadata (docs/labels.md: js_names.*).
struct JsTally {
  enum Source : uint8_t { kNotJit, kMap, kHeap, kUnnamed } source = kNotJit;
  int8_t agree = -1;
  static JsTally of(const symbols::ResolvedFrame& r) {
    JsTally t;
    if (r.js_source == symbols::JsNameSource::kMap) t.source = kMap;
    else if (r.js_source == symbols::JsNameSource::kHeap) t.source = kHeap;
    else if (r.origin == symbols::FrameOrigin::kJit && r.jit_kind == symbols::JitKind::kJs) t.source = kMap;
    else if (r.origin == symbols::FrameOrigin::kJit && (r.frames.empty() || r.frames[0].name.starts_with("[unknown]")))
      t.source = kUnnamed;
    t.agree = r.map_heap_agree;
    return t;
  }
};
struct JsCounts {
  uint64_t map = 0, heap = 0, unnamed = 0, compared = 0, agreed = 0;
  void add(const JsTally& t, uint64_t n) {
    if (t.source == JsTally::kMap) map += n;
    else if (t.source == JsTally::kHeap) heap += n;
    else if (t.source == JsTally::kUnnamed) unnamed += n;
    if (t.agree >= 0) {
      compared += n;
      if (t.agree == 1) agreed += n;
    }
  }
  void write(std::vector<std::pair<std::string, std::string>>& md) const {
    if (map + heap + unnamed == 0) return;
    md.emplace_back("js_names.frames.map", std::to_string(map));
    md.emplace_back("js_names.frames.heap", std::to_string(heap));
    md.emplace_back("js_names.frames.unnamed", std::to_string(unnamed));
    if (compared) {
      md.emplace_back("js_names.compared", std::to_string(compared));
      md.emplace_back("js_names.agreed", std::to_string(agreed));
    }
  }
};

}  // namespace

Profile build_profile(const StackTable& stacks, symbols::ProcessSymbolizer& symbolizer, const BuildInfo& info) {
  Profile p;
  const char* clock = info.wall_mode ? "wall" : "cpu";
  p.sample_types = {{"samples", "count"}, {clock, "nanoseconds"}};
  p.period_type = {clock, "nanoseconds"};
  p.period = info.period_ns;
  p.time_nanos = info.time_nanos;
  p.duration_nanos = info.duration_nanos;
  p.default_sample_type = clock;
  p.metadata = info.metadata;

  Interner intern(p);
  std::unordered_map<std::pair<uint64_t, bool>, uint64_t, PairHash> locations;
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> js_locations;
  std::vector<JsTally> js_tally(1);  // per location id
  JsCounts js_counts;
  auto location_for = [&](const Frame& f) -> uint64_t {
    auto key = std::make_pair(f.addr, f.kernel);
    uint64_t& known = f.js ? js_locations[{f.addr, f.js}] : locations[key];
    if (known) return known;
    const symbols::ResolvedFrame& r = symbolizer.resolve(f);
    js_tally.push_back(JsTally::of(r));
    Location loc;
    loc.mapping_id = intern.mapping(r);
    loc.address = f.addr;
    for (const auto& sf : r.frames) loc.lines.push_back(Line{intern.function(sf), sf.line, 0});
    p.locations.push_back(std::move(loc));
    return known = p.locations.size();
  };

  uint64_t overflow_location = 0;
  for (const auto& e : stacks.entries()) {
    Sample s;
    for (const auto& f : stacks.frames(e)) {
      s.location_ids.push_back(location_for(f));
      js_counts.add(js_tally[s.location_ids.back()], e.count);
    }
    if (s.location_ids.empty()) {
      // The per-thread overflow entry of a full StackTable: visible, never silently dropped.
      if (!overflow_location) {
        symbols::SourceFrame sf{"[stacks over the distinct-stack limit]", "", "", 0};
        p.locations.push_back(Location{0, 0, {Line{intern.function(sf), 0, 0}}});
        overflow_location = p.locations.size();
      }
      s.location_ids.push_back(overflow_location);
    }
    s.values = {static_cast<int64_t>(e.count), static_cast<int64_t>(e.period)};
    auto name = info.thread_names.find(e.tid);
    Label thread;
    thread.key = "thread";
    thread.str = name != info.thread_names.end() && !name->second.empty() ? name->second : "?";
    Label tid;
    tid.key = "tid";
    tid.num = e.tid;
    tid.is_num = true;
    s.labels = {std::move(thread), std::move(tid)};
    if (info.wall_mode) s.labels.push_back(Label{"clock", e.tag.wall ? "wall" : "cpu", 0, "", false});
    if (e.tag.syscall >= 0)
      s.labels.push_back(Label{"syscall", syscall_name(e.tag.syscall), 0, "", false});
    if (e.tag.window)
      s.labels.push_back(Label{std::string(kWindowLabel), std::string(e.tag.window == 1 ? kWindowBefore : kWindowIncident), 0, "", false});
    p.samples.push_back(std::move(s));
  }
  js_counts.write(p.metadata);
  move_mapping_first(p, info.main_binary);
  return p;
}

}  // namespace loopperf::profile
