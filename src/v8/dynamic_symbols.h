// The binary's dynamic symbols (.dynsym) in one pass, found through its PT_DYNAMIC segment and read
// with ElfFile::read_bytes. node's ~500 v8dbg_* constants are all there; looking each up by name
// with ElfFile::symbol_address would scan all of node's symbols once per constant (about a second
// in total), this reads them once (milliseconds).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace loopperf::symbols {
class ElfFile;
}

namespace loopperf::v8 {

// Name -> vaddr of every defined dynamic symbol for which `wanted(name)` holds. Empty when the file
// has no dynamic symbol table (or it does not read back sanely).
std::unordered_map<std::string, uint64_t> dynamic_symbols(
    const symbols::ElfFile& elf, const std::function<bool(std::string_view)>& wanted);
// The same, `sizes` (when given) getting their sizes; only names that start with one of `prefixes`
// are offered to `wanted` (node has ~75k dynamic symbols: most are passed over after a few bytes).
std::unordered_map<std::string, uint64_t> dynamic_symbols(const symbols::ElfFile& elf,
                                                          std::unordered_map<std::string, uint64_t>* sizes,
                                                          std::span<const std::string_view> prefixes,
                                                          const std::function<bool(std::string_view)>& wanted);

}  // namespace loopperf::v8
