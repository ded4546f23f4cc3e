// Reads from memory-mapped files that someone may cut short while we read them.
//
// loopperf maps the target's binaries and libraries to read their symbols and unwind tables. The
// target keeps running on its own pages whatever happens to the files on disk, but when a file is
// truncated (or rewritten shorter) a read of a page past its new end raises SIGBUS in loopperf, and
// the profile recorded so far would be lost. These reads turn that into a failed read: a SIGBUS
// raised inside them jumps back out, and any other SIGBUS still ends the process as before.
// (libelf and libdw read the same mappings; their reads cannot be guarded this way, which is why
// ElfFile also checks the file's size before each use.)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <span>
#include <string>
#include <string_view>

namespace loopperf {

// Copies n bytes; false when a page of [src, src + n) is gone (dst is then partly written).
bool mapped_copy(void* dst, const void* src, size_t n);

// The NUL-terminated string at src, reading at most `max` bytes; nullopt when a page is gone or no
// terminator came within `max`. It never reads past the terminator.
std::optional<std::string> mapped_string(const char* src, size_t max = 65536);
// Whether the NUL-terminated string at src is `want`; reads no further than the first difference
// (or want's terminator). false when a page is gone.
bool mapped_equals(const char* src, std::string_view want);
// The index of the first of `wants` that the NUL-terminated string at src equals; -1 when none is,
// or a page is gone. One guarded pass for them all.
int mapped_match(const char* src, std::span<const std::string> wants);

}  // namespace loopperf
