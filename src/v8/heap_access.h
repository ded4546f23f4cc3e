// Typed access to single objects of the target's V8 heap: tagged values, instance types through
// maps, Smis. Everything read is untrusted; every helper says when a value does not validate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "loopperf/v8/layout.h"
#include "remote_memory.h"

namespace loopperf::v8 {

inline bool is_heap_object(uint64_t tagged) { return (tagged & 3) == 1; }
inline bool is_smi(uint64_t tagged) { return (tagged & 1) == 0; }
inline int32_t smi_value(uint64_t tagged) { return static_cast<int32_t>(static_cast<int64_t>(tagged) >> 32); }
inline uint64_t untag(uint64_t tagged) { return tagged - 1; }

// The word, or the 32 bits, `off` bytes into what was read of an object.
inline uint64_t word_at(const uint8_t* p, size_t off) {
  uint64_t v;
  std::memcpy(&v, p + off, 8);
  return v;
}
inline uint32_t u32_at(const uint8_t* p, size_t off) {
  uint32_t v;
  std::memcpy(&v, p + off, 4);
  return v;
}

class HeapAccess {
 public:
  HeapAccess(const Layout& layout, RemoteMemory& mem) : layout_(layout), mem_(mem) {}

  const Layout& layout() const { return layout_; }
  RemoteMemory& mem() { return mem_; }

  // The instance type of the map `map` (a tagged pointer), read or from the cache.
  std::optional<uint16_t> map_type(uint64_t map);
  // The instance type of the object `tagged`: its map read, then map_type().
  std::optional<uint16_t> type_of(uint64_t tagged);
  // A cached type, when this map was seen before and its type is one that may be cached.
  std::optional<uint16_t> cached_map_type(uint64_t map) const {
    auto it = map_types_.find(map);
    if (it == map_types_.end()) return std::nullopt;
    return it->second;
  }
  // Remembers a type read from a map, when it may be remembered (see map_type_cacheable).
  void note_map_type(uint64_t map, uint16_t type);

  // Reads one tagged field, `off` bytes into the object.
  std::optional<uint64_t> field(uint64_t tagged, uint32_t off);
  std::optional<int32_t> int32_field(uint64_t tagged, uint32_t off);

  bool is_string_type(uint16_t type) const { return type < layout_.first_nonstring_type; }
  bool is_js_function_type(uint16_t type) const {
    return type >= layout_.first_js_function_type && type <= layout_.last_js_function_type;
  }

  void clear_cache() {
    map_types_.clear();
    meta_maps_.clear();
  }

 private:
  // Types whose maps are read-only roots in V8 11-14 (strings, SharedFunctionInfo, ScopeInfo,
  // Script, BytecodeArray, ...): read-only space is never compacted or freed, so such a map's
  // address keeps its type for the process's life. JS object maps (JSFunction's among them) are
  // allocated in old space: V8 removed the separate map space before 11.3 (node 20 to 26 know no
  // --use-map-space or --compact-maps flag; the heap allocator sends AllocationType::kMap to the
  // old-space allocator), so nothing keeps them from moving with old-space compaction. Their type
  // is read again every time (one more range in a batch that is read anyway).
  bool map_type_cacheable(uint16_t type) const;
  // Is `meta` a meta map (a Map whose own map is itself)? Remembered once seen.
  bool is_meta_map(uint64_t meta);

  const Layout& layout_;
  RemoteMemory& mem_;
  std::unordered_map<uint64_t, uint16_t> map_types_;
  std::unordered_set<uint64_t> meta_maps_;
};

}  // namespace loopperf::v8
