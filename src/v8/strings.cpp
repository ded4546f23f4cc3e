#include "strings.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace loopperf::v8 {

namespace {

// Cons/thin/sliced strings nest; V8 flattens the strings we read (names are internalized, sources
// are flattened by the parser), so deep nesting means garbage.
constexpr int kMaxDepth = 32;
// V8's String::kMaxLength is 2^29 - 24 on 64-bit targets.
constexpr uint32_t kMaxLength = uint32_t{1} << 29;
// Characters are read in pieces of this many bytes.
constexpr size_t kChunkBytes = 64 * 1024;

struct Header {
  uint16_t type = 0;
  uint32_t length = 0;
};

std::optional<Header> header(HeapAccess& heap, uint64_t tagged) {
  const Layout& l = heap.layout();
  if (!is_heap_object(tagged)) return std::nullopt;
  uint8_t h[16];
  if (l.string_length + 4 > sizeof h || !heap.mem().read(untag(tagged), h, sizeof h)) return std::nullopt;
  uint64_t map = 0;
  int32_t length = 0;
  std::memcpy(&map, h + l.map, 8);
  std::memcpy(&length, h + l.string_length, 4);
  auto type = heap.map_type(map);
  if (!type || !heap.is_string_type(*type) || length < 0 || static_cast<uint32_t>(length) > kMaxLength) {
    return std::nullopt;
  }
  return Header{*type, static_cast<uint32_t>(length)};
}

bool read_chars(HeapAccess& heap, uint64_t addr, bool one_byte, uint32_t start, uint32_t count,
                const std::function<bool(const CharChunk&)>& sink) {
  const size_t width = one_byte ? 1 : 2;
  const size_t per_chunk = kChunkBytes / width;
  std::vector<uint16_t> buf((std::min<size_t>(count, per_chunk) * width + 1) / 2);
  while (count > 0) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(count, per_chunk));
    if (!heap.mem().read(addr + uint64_t{start} * width, buf.data(), n * width)) return false;
    CharChunk chunk;
    chunk.size = n;
    if (one_byte) {
      chunk.one_byte = reinterpret_cast<const uint8_t*>(buf.data());
    } else {
      chunk.two_byte = buf.data();
    }
    if (!sink(chunk)) return false;
    start += n;
    count -= n;
  }
  return true;
}

bool visit_range(HeapAccess& heap, uint64_t tagged, uint32_t start, uint32_t count, int depth,
                 const std::function<bool(const CharChunk&)>& sink) {
  if (depth > kMaxDepth) return false;
  const Layout& l = heap.layout();
  auto h = header(heap, tagged);
  if (!h || start > h->length || count > h->length - start) return false;
  if (count == 0) return true;
  const bool one_byte = (h->type & l.string_encoding_mask) == l.one_byte_string_tag;
  const uint16_t rep = h->type & l.string_representation_mask;
  if (rep == l.seq_string_tag) {
    return read_chars(heap, untag(tagged) + (one_byte ? l.seq_one_byte_chars : l.seq_two_byte_chars),
                      one_byte, start, count, sink);
  }
  if (rep == l.external_string_tag) {
    // Without the cached data pointer the characters are behind a C++ object's virtual data().
    if (h->type & l.uncached_external_string_mask) return false;
    auto data = heap.field(tagged, l.external_resource_data);
    if (!data || !RemoteMemory::plausible(*data, uint64_t{h->length} * (one_byte ? 1 : 2))) return false;
    return read_chars(heap, *data, one_byte, start, count, sink);
  }
  if (rep == l.cons_string_tag) {
    auto first = heap.field(tagged, l.cons_first);
    auto second = heap.field(tagged, l.cons_second);
    if (!first || !second) return false;
    auto first_length = string_length(heap, *first);
    if (!first_length || *first_length > h->length) return false;
    if (start < *first_length) {
      const uint32_t n = std::min(count, *first_length - start);
      if (!visit_range(heap, *first, start, n, depth + 1, sink)) return false;
      count -= n;
      start = 0;
    } else {
      start -= *first_length;
    }
    return count == 0 || visit_range(heap, *second, start, count, depth + 1, sink);
  }
  if (rep == l.thin_string_tag) {
    auto actual = heap.field(tagged, l.thin_actual);
    return actual && visit_range(heap, *actual, start, count, depth + 1, sink);
  }
  if (rep == l.sliced_string_tag) {
    auto parent = heap.field(tagged, l.sliced_parent);
    auto offset = heap.field(tagged, l.sliced_offset);
    if (!parent || !offset || !is_smi(*offset) || smi_value(*offset) < 0) return false;
    return visit_range(heap, *parent, static_cast<uint32_t>(smi_value(*offset)) + start, count, depth + 1,
                       sink);
  }
  return false;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

std::optional<uint32_t> string_length(HeapAccess& heap, uint64_t tagged) {
  auto h = header(heap, tagged);
  if (!h) return std::nullopt;
  return h->length;
}

bool visit_string(HeapAccess& heap, uint64_t tagged, uint32_t max_chars,
                  const std::function<bool(const CharChunk&)>& sink) {
  auto length = string_length(heap, tagged);
  if (!length) return false;
  return visit_range(heap, tagged, 0, std::min(*length, max_chars), 0, sink);
}

std::optional<std::string> read_string(HeapAccess& heap, uint64_t tagged, size_t max_bytes) {
  std::u16string units;
  const uint32_t max_chars = static_cast<uint32_t>(std::min<size_t>(max_bytes, kMaxLength));
  bool ok = visit_string(heap, tagged, max_chars, [&](const CharChunk& c) {
    for (size_t i = 0; i < c.size; ++i)
      units += c.one_byte ? char16_t{c.one_byte[i]} : char16_t{c.two_byte[i]};
    return true;
  });
  if (!ok) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < units.size(); ++i) {
    uint32_t cp = units[i];
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < units.size() && units[i + 1] >= 0xdc00 &&
        units[i + 1] < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (units[i + 1] - 0xdc00);
      ++i;
    } else if (cp >= 0xd800 && cp < 0xe000) {
      cp = 0xfffd;  // a lone surrogate
    }
    const size_t before = out.size();
    append_utf8(out, cp);
    if (out.size() > max_bytes) {
      out.resize(before);
      break;
    }
  }
  return out;
}

}  // namespace loopperf::v8
