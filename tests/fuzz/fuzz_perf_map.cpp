// libFuzzer target: V8's perf map (/tmp/perf-PID.map) as loopperf reads it, a file in a
// world-writable directory that anyone may fill with garbage. Besides "no crash, no UB", it checks
// the invariants symbolization relies on: entries never overlap, lookups land inside the entry they
// return, and feeding the file in arbitrary pieces (as tail_perf_map reads a growing file) gives the
// same map as feeding it whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "loopperf/symbols/perf_map.h"

using loopperf::symbols::PerfMap;
using loopperf::symbols::PerfMapEntry;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // libFuzzer reports the abort with the input that caused it
}

void check_invariants(const PerfMap& map, std::string_view data) {
  // Probe addresses taken from the input itself, so entries the input creates get looked up.
  for (size_t i = 0; i + 8 <= data.size() && i < 256; i += 8) {
    uint64_t addr = 0;
    for (size_t k = 0; k < 8; k++) addr |= static_cast<uint64_t>(static_cast<uint8_t>(data[i + k])) << (8 * k);
    for (uint64_t probe : {addr, addr & 0xffffffffu, addr & 0xffffu}) {
      const PerfMapEntry* e = map.lookup(probe);
      if (e == nullptr) continue;
      check(e->size > 0);
      check(probe >= e->start && probe - e->start < e->size);
      check(!e->raw.empty() && !e->name.empty());
    }
  }
}

bool same_map(const PerfMap& a, const PerfMap& b, std::string_view data) {
  if (a.size() != b.size() || a.malformed_lines() != b.malformed_lines()) return false;
  for (size_t i = 0; i + 8 <= data.size() && i < 256; i += 8) {
    uint64_t addr = 0;
    for (size_t k = 0; k < 8; k++) addr |= static_cast<uint64_t>(static_cast<uint8_t>(data[i + k])) << (8 * k);
    const PerfMapEntry* x = a.lookup(addr);
    const PerfMapEntry* y = b.lookup(addr);
    if ((x == nullptr) != (y == nullptr)) return false;
    if (x != nullptr && (x->start != y->start || x->size != y->size || x->raw != y->raw)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);

  // Every line on its own, the way a single entry is parsed.
  for (size_t pos = 0; pos <= data.size();) {
    size_t nl = data.find('\n', pos);
    std::string_view line = data.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    PerfMapEntry e;
    if (loopperf::symbols::parse_perf_map_line(line, e)) {
      check(e.start + e.size >= e.start);  // no wrap-around: lookup's arithmetic depends on it
      check(!e.raw.empty() && !e.name.empty());
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  PerfMap whole;
  whole.feed(data);
  check_invariants(whole, data);

  // The same bytes in pieces whose sizes come from the data: a reader that catches V8 mid-line.
  PerfMap pieces;
  size_t pos = 0;
  size_t step_seed = size;
  while (pos < data.size()) {
    step_seed = step_seed * 6364136223846793005ULL + 1442695040888963407ULL;
    size_t step = 1 + (step_seed >> 33) % 97;
    pieces.feed(data.substr(pos, step));
    pos += step;
  }
  // A trailing partial line is held back until its newline arrives; complete both the same way.
  whole.feed("\n");
  pieces.feed("\n");
  check(same_map(whole, pieces, data));
  return 0;
}
