// V8 strings of the target, in any representation (sequential, cons, thin, sliced, external;
// one- or two-byte), read with bounded lengths and depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "heap_access.h"

namespace loopperf::v8 {

// A piece of a string's characters: Latin-1 bytes or UTF-16 code units.
struct CharChunk {
  const uint8_t* one_byte = nullptr;
  const uint16_t* two_byte = nullptr;
  size_t size = 0;
};

// The length of the string `tagged` in UTF-16 units, or nullopt when it is not a string.
std::optional<uint32_t> string_length(HeapAccess& heap, uint64_t tagged);

// Hands the first `max_chars` characters of the string `tagged` to `sink` in order, in pieces.
// False when something does not validate or cannot be read (the sink may have had some pieces),
// or when `sink` returns false.
bool visit_string(HeapAccess& heap, uint64_t tagged, uint32_t max_chars,
                  const std::function<bool(const CharChunk&)>& sink);

// The string as UTF-8, at most `max_bytes` of it (cut at a character boundary). nullopt when
// `tagged` is not a readable string.
std::optional<std::string> read_string(HeapAccess& heap, uint64_t tagged, size_t max_bytes);

}  // namespace loopperf::v8
