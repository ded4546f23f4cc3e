#include "heap_access.h"

#include <cstring>

namespace loopperf::v8 {

namespace {
// A process has a few hundred read-only maps; more entries mean garbage got in somehow.
constexpr size_t kMaxCachedMaps = 4096;
}  // namespace

bool HeapAccess::map_type_cacheable(uint16_t t) const {
  const Layout& l = layout_;
  return t < l.first_nonstring_type || t == l.shared_function_info_type || t == l.scope_info_type ||
         t == l.script_type || t == l.bytecode_array_type || t == l.source_position_table_type ||
         t == l.fixed_array_type || (l.debug_info_type != 0 && t == l.debug_info_type) ||
         (t >= l.first_uncompiled_data_type && t <= l.last_uncompiled_data_type &&
          l.first_uncompiled_data_type != 0);
}

void HeapAccess::note_map_type(uint64_t map, uint16_t type) {
  if (!map_type_cacheable(type)) return;
  if (map_types_.size() >= kMaxCachedMaps) map_types_.clear();
  map_types_.emplace(map, type);
}

std::optional<uint16_t> HeapAccess::map_type(uint64_t map) {
  if (!is_heap_object(map)) return std::nullopt;
  if (auto t = cached_map_type(map)) return t;
  uint8_t head[16];
  if (layout_.map_instance_type + 2 > sizeof head || !mem_.read(untag(map), head, sizeof head))
    return std::nullopt;
  uint16_t type = 0;
  uint64_t meta = 0;
  std::memcpy(&type, head + layout_.map_instance_type, 2);
  std::memcpy(&meta, head + layout_.map, 8);
  // Only a real map is remembered: its own map is a meta map (a Map whose map is itself).
  if (is_meta_map(meta)) note_map_type(map, type);
  return type;
}

bool HeapAccess::is_meta_map(uint64_t meta) {
  if (meta_maps_.count(meta) != 0) return true;
  if (!is_heap_object(meta)) return false;
  uint8_t head[16];
  if (!mem_.read(untag(meta), head, sizeof head)) return false;
  uint16_t type = 0;
  uint64_t its_map = 0;
  std::memcpy(&type, head + layout_.map_instance_type, 2);
  std::memcpy(&its_map, head + layout_.map, 8);
  if (its_map != meta || type != layout_.map_object_type) return false;
  if (meta_maps_.size() < 64) meta_maps_.insert(meta);
  return true;
}

std::optional<uint16_t> HeapAccess::type_of(uint64_t tagged) {
  if (!is_heap_object(tagged)) return std::nullopt;
  auto map = field(tagged, layout_.map);
  if (!map) return std::nullopt;
  return map_type(*map);
}

std::optional<uint64_t> HeapAccess::field(uint64_t tagged, uint32_t off) {
  if (!is_heap_object(tagged)) return std::nullopt;
  uint64_t v = 0;
  if (!mem_.read(untag(tagged) + off, &v, sizeof v)) return std::nullopt;
  return v;
}

std::optional<int32_t> HeapAccess::int32_field(uint64_t tagged, uint32_t off) {
  if (!is_heap_object(tagged)) return std::nullopt;
  int32_t v = 0;
  if (!mem_.read(untag(tagged) + off, &v, sizeof v)) return std::nullopt;
  return v;
}

}  // namespace loopperf::v8
