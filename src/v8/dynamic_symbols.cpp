#include "dynamic_symbols.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "loopperf/symbols/elf_symbolizer.h"

namespace loopperf::v8 {

namespace {

// Sanity bounds: node has ~100k dynamic symbols and a few MB of names.
constexpr uint64_t kMaxSymbols = 1 << 22;
constexpr uint64_t kMaxStringTable = 256 << 20;

template <typename T>
bool get(const std::vector<uint8_t>& bytes, size_t off, T& out) {
  if (off > bytes.size() || bytes.size() - off < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + off, sizeof(T));
  return true;
}

// The number of symbols covered by a GNU hash table: one past the highest index any chain reaches.
uint64_t gnu_hash_symbol_count(const symbols::ElfFile& elf, uint64_t table) {
  std::vector<uint8_t> head = elf.read_bytes(table, 16);
  uint32_t nbuckets = 0, symoffset = 0, bloom_words = 0;
  if (!get(head, 0, nbuckets) || !get(head, 4, symoffset) || !get(head, 8, bloom_words)) return 0;
  if (nbuckets == 0 || nbuckets > kMaxSymbols || bloom_words > kMaxSymbols) return 0;
  const uint64_t buckets_at = table + 16 + uint64_t{bloom_words} * 8;
  std::vector<uint8_t> buckets = elf.read_bytes(buckets_at, size_t{nbuckets} * 4);
  if (buckets.size() != size_t{nbuckets} * 4) return 0;
  uint32_t last = 0;
  for (uint32_t i = 0; i < nbuckets; ++i) {
    uint32_t b = 0;
    get(buckets, size_t{i} * 4, b);
    last = std::max(last, b);
  }
  if (last < symoffset) return symoffset;
  const uint64_t chains_at = buckets_at + uint64_t{nbuckets} * 4;
  for (uint64_t i = last; i < kMaxSymbols; ++i) {
    std::vector<uint8_t> w = elf.read_bytes(chains_at + (i - symoffset) * 4, 4);
    uint32_t h = 0;
    if (!get(w, 0, h)) return 0;
    if (h & 1) return i + 1;  // the end of the last chain
  }
  return 0;
}

}  // namespace

std::unordered_map<std::string, uint64_t> dynamic_symbols(
    const symbols::ElfFile& elf, const std::function<bool(std::string_view)>& wanted) {
  return dynamic_symbols(elf, nullptr, {}, wanted);
}

std::unordered_map<std::string, uint64_t> dynamic_symbols(
    const symbols::ElfFile& elf, std::unordered_map<std::string, uint64_t>* sizes,
    std::span<const std::string_view> prefixes, const std::function<bool(std::string_view)>& wanted) {
  std::unordered_map<std::string, uint64_t> out;
  // The ELF and program headers are at the start of the first loaded segment.
  const uint64_t base = elf.file_offset_to_vaddr(0);
  std::vector<uint8_t> ehdr_bytes = elf.read_bytes(base, sizeof(Elf64_Ehdr));
  Elf64_Ehdr ehdr;
  if (!get(ehdr_bytes, 0, ehdr) || std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0 ||
      ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_phentsize != sizeof(Elf64_Phdr) || ehdr.e_phnum > 256) {
    return out;
  }
  std::vector<uint8_t> phdrs =
      elf.read_bytes(elf.file_offset_to_vaddr(ehdr.e_phoff), ehdr.e_phnum * sizeof(Elf64_Phdr));
  std::vector<uint8_t> dynamic;
  for (size_t i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!get(phdrs, i * sizeof ph, ph)) return out;
    if (ph.p_type == PT_DYNAMIC && ph.p_filesz <= (1 << 20))
      dynamic = elf.read_bytes(ph.p_vaddr, ph.p_filesz);
  }
  uint64_t symtab = 0, strtab = 0, strsz = 0, syment = sizeof(Elf64_Sym), hash = 0, gnu_hash = 0;
  for (size_t off = 0; off + sizeof(Elf64_Dyn) <= dynamic.size(); off += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d;
    get(dynamic, off, d);
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_SYMTAB:
        symtab = d.d_un.d_ptr;
        break;
      case DT_STRTAB:
        strtab = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = d.d_un.d_val;
        break;
      case DT_SYMENT:
        syment = d.d_un.d_val;
        break;
      case DT_HASH:
        hash = d.d_un.d_ptr;
        break;
      case DT_GNU_HASH:
        gnu_hash = d.d_un.d_ptr;
        break;
      default:
        break;
    }
  }
  if (symtab == 0 || strtab == 0 || strsz == 0 || strsz > kMaxStringTable || syment != sizeof(Elf64_Sym))
    return out;
  uint64_t count = 0;
  if (hash != 0) {
    std::vector<uint8_t> h = elf.read_bytes(hash, 8);
    uint32_t nchain = 0;
    if (get(h, 4, nchain)) count = nchain;
  } else if (gnu_hash != 0) {
    count = gnu_hash_symbol_count(elf, gnu_hash);
  }
  if (count == 0 || count > kMaxSymbols) return out;
  std::vector<uint8_t> syms = elf.read_bytes(symtab, count * sizeof(Elf64_Sym));
  std::vector<uint8_t> names = elf.read_bytes(strtab, strsz);
  if (syms.size() != count * sizeof(Elf64_Sym) || names.size() != strsz) return out;
  for (uint64_t i = 1; i < count; ++i) {
    Elf64_Sym s;
    get(syms, i * sizeof s, s);
    if (s.st_shndx == SHN_UNDEF || s.st_name >= strsz) continue;
    const char* name = reinterpret_cast<const char*>(names.data()) + s.st_name;
    if (!prefixes.empty() && std::none_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) {
          return p.size() <= strsz - s.st_name && std::memcmp(name, p.data(), p.size()) == 0;
        }))
      continue;
    const size_t len = strnlen(name, strsz - s.st_name);
    std::string_view n(name, len);
    if (len == strsz - s.st_name || !wanted(n)) continue;  // unterminated, or not asked for
    out.emplace(std::string(n), s.st_value);
    if (sizes != nullptr) sizes->emplace(std::string(n), s.st_size);
  }
  return out;
}

}  // namespace loopperf::v8
