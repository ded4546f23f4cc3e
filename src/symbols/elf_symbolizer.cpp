#include "loopperf/symbols/elf_symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <map>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "loopperf/common/mapped_read.h"
#include "loopperf/common/unique_fd.h"

namespace loopperf::symbols {

namespace {

struct ElfDeleter {
  void operator()(Elf* e) const { elf_end(e); }
};
struct DwarfDeleter {
  void operator()(Dwarf* d) const { dwarf_end(d); }
};

// 24 bytes: node has ~260k function symbols.
struct Sym {
  uint64_t addr;
  const char* name;  // points into libelf's (mmapped) string table; lives as long as the Elf*
  // The symbol's size; while building, for a zero-size symbol (rank & kZeroSize) the distance to the
  // end of its section, which bounds the size it is given.
  uint32_t size;
  uint8_t rank;  // lower wins when several symbols share an address
};
constexpr uint8_t kZeroSize = 2;

struct LoadSegment {
  uint64_t offset, vaddr, filesz, memsz, align;
};

// Dwarf_Die copies stay valid while the Dwarf* lives.
struct FuncRange {
  uint64_t low, high;
  Dwarf_Die die;  // a concrete DW_TAG_subprogram
};

struct CuInfo {
  Dwarf_Die die;
  bool indexed = false;
  std::vector<FuncRange> funcs;  // sorted by low; built on the first lookup that lands in this CU
};

struct CuRange {
  uint64_t low, high;
  size_t cu;  // index into Impl::cus
};

template <typename Range>
const Range* find_range(const std::vector<Range>& ranges, uint64_t addr) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.low; });
  // Ranges rarely nest or overlap; a few steps back finds an enclosing one.
  for (int steps = 0; it != ranges.begin() && steps < 8; ++steps) {
    --it;
    if (addr < it->high) return &*it;
  }
  return nullptr;
}

// Collects concrete subprograms with code under `parent`: functions may sit inside namespaces, classes
// and (for local classes, nested functions) inside other functions.
void index_functions(Dwarf_Die* parent, std::vector<FuncRange>& out, int depth) {
  Dwarf_Die child;
  if (depth > 64 || dwarf_child(parent, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_subprogram) {
      Dwarf_Addr base = 0, low = 0, high = 0;
      ptrdiff_t off = 0;
      while ((off = dwarf_ranges(&child, off, &base, &low, &high)) > 0) {
        if (high > low) out.push_back(FuncRange{low, high, child});
      }
    }
    if (tag == DW_TAG_subprogram || tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
        tag == DW_TAG_structure_type || tag == DW_TAG_union_type || tag == DW_TAG_lexical_block) {
      index_functions(&child, out, depth + 1);
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

std::string to_hex(const unsigned char* bytes, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

// The name of a subprogram / inlined-subroutine DIE, following abstract_origin and specification.
// Sets `raw` to the linkage name when there is one (then `display` is its demangling).
void die_names(Dwarf_Die* die, std::string& display, std::string& raw) {
  Dwarf_Attribute attr;
  const char* linkage = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != nullptr ||
      dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != nullptr) {
    linkage = dwarf_formstring(&attr);
  }
  if (linkage != nullptr) {
    raw = linkage;
    display = demangle(raw);
    return;
  }
  const char* name = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) name = dwarf_formstring(&attr);
  raw = name != nullptr ? name : "";
  display = raw;
}

// A string table (.strtab, .dynstr) read in place. Names are not touched while the symbol table is
// built: node's are 12 MB, and reading each one (elf_strptr checks its terminator) kept all of them
// in loopperf's memory for the whole recording, where a profile looks up a few thousand.
struct StringSection {
  const char* data = nullptr;
  size_t size = 0;
  bool in_place = false;  // terminated by '\0' and mapped: a name is data + offset, never read here

  // The name at `offset`, or nullptr when outside the table. Names of a table that cannot be read
  // in place come from elf_strptr (which copies or checks them).
  const char* at(Elf* e, size_t section, size_t offset) const {
    if (in_place) return offset < size ? data + offset : nullptr;
    const char* name = elf_strptr(e, section, offset);
    return name != nullptr && name[0] != '\0' ? name : nullptr;
  }
};

StringSection string_section(Elf* e, size_t index) {
  StringSection out;
  Elf_Scn* scn = elf_getscn(e, index);
  GElf_Shdr shdr;
  if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_STRTAB) return out;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || data->d_buf == nullptr || data->d_size == 0) return out;
  out.data = static_cast<const char*>(data->d_buf);
  out.size = data->d_size;
  // A table that ends in '\0' terminates every name that starts inside it.
  char last = 1;
  out.in_place = mapped_copy(&last, out.data + out.size - 1, 1) && last == '\0';
  return out;
}

// Names that are not a function's even though their symbol may look like one: empty ones, ARM and
// AArch64 mapping symbols ($x, $d) and assembler locals (.L...). Checked when a symbol is looked up.
bool is_function_name(const std::string& name) {
  return !name.empty() && name[0] != '$' && !name.starts_with(".L");
}

// libdw cannot go on after an allocation fails inside it: its default handler exits with status 1
// and "libdw: Cannot allocate memory". Ours exits with the status and words of loopperf's other
// resource errors (7); the profile being built is lost, the target is not touched (the kernel
// drops loopperf's perf events, probes and ptrace stops with the process). Unwinding a C++
// exception through libdw instead would leave its locks held.
// (GNU's attribute, not [[noreturn]]: Dwarf_OOM is a pointer to a noreturn function type, which
// clang tells apart from a plain one.)
__attribute__((noreturn)) void dwarf_out_of_memory() {
  static constexpr char kMessage[] =
      "loopperf: error: out of memory while reading debug info (libdw cannot go on after that); no profile was written\n"
      "  hint: raise the memory limit (ulimit -v, the container's), or record for less time (-d) or at a lower rate (-F)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  ::_exit(7);
}

// The symbol `name` through the GNU hash table of .dynsym: a handful of reads, where a scan by name
// reads every name of the file. False when the file has no such table or the name is not in it.
bool gnu_hash_lookup(Elf* e, const std::string& name, GElf_Sym* out) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(e, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_GNU_HASH) continue;
    Elf_Data* hash = elf_getdata(scn, nullptr);
    Elf_Scn* dynsym = elf_getscn(e, shdr.sh_link);
    GElf_Shdr dynsym_shdr;
    if (hash == nullptr || dynsym == nullptr || gelf_getshdr(dynsym, &dynsym_shdr) == nullptr) return false;
    Elf_Data* syms = elf_getdata(dynsym, nullptr);
    const StringSection strings = string_section(e, dynsym_shdr.sh_link);
    if (syms == nullptr || !strings.in_place || hash->d_size < 16 || dynsym_shdr.sh_entsize == 0) return false;
    const size_t nsyms = dynsym_shdr.sh_size / dynsym_shdr.sh_entsize;
    // [nbuckets, symoffset, bloom words, bloom shift] [bloom: words of the ELF class] [buckets] [chain]
    const auto* words = static_cast<const uint32_t*>(hash->d_buf);
    const size_t nwords = hash->d_size / 4;
    const uint32_t nbuckets = words[0], symoffset = words[1], bloom_words = words[2];
    const size_t bloom_u32 = size_t{bloom_words} * (gelf_getclass(e) == ELFCLASS64 ? 2 : 1);
    if (nbuckets == 0 || 4 + bloom_u32 + nbuckets > nwords) return false;
    const uint32_t* buckets = words + 4 + bloom_u32;
    const uint32_t* chain = buckets + nbuckets;
    const size_t chain_len = nwords - (4 + bloom_u32 + nbuckets);
    uint32_t h = 5381;
    for (unsigned char c : name) h = h * 33 + c;
    for (uint32_t i = buckets[h % nbuckets]; i >= symoffset && i - symoffset < chain_len && i < nsyms; ++i) {
      const uint32_t h2 = chain[i - symoffset];
      GElf_Sym sym;
      if ((h | 1) == (h2 | 1) && gelf_getsym(syms, static_cast<int>(i), &sym) != nullptr &&
          sym.st_shndx != SHN_UNDEF) {
        const char* n = strings.at(e, dynsym_shdr.sh_link, sym.st_name);
        if (n == nullptr) continue;
        std::optional<std::string> found = mapped_string(n);
        if (!found) return false;  // the file was cut short
        if (name == *found) {
          *out = sym;
          return true;
        }
      }
      if (h2 & 1) break;  // the end of this bucket's chain
    }
    return false;
  }
  return false;
}

}  // namespace

struct ElfFile::Impl {
  UniqueFd fd;
  std::unique_ptr<Elf, ElfDeleter> elf;
  uint64_t size_at_open = 0;
  // Separate debug symbols (/usr/lib/debug/.build-id/xx/yyyy.debug, e.g. Debian's libc6-dbg) for a
  // file shipped without .symtab: its local functions get names too.
  UniqueFd debug_fd;
  std::unique_ptr<Elf, ElfDeleter> debug_elf;
  std::vector<LoadSegment> loads;
  bool has_symtab = false, has_dynsym = false;

  bool syms_built = false;
  std::vector<Sym> syms;  // sorted by addr, one per address

  bool dwarf_tried = false;
  std::unique_ptr<Dwarf, DwarfDeleter> dwarf;
  std::vector<CuInfo> cus;
  std::vector<CuRange> cu_ranges;  // sorted by low

  // Calls fn(GElf_Sym&, name, section index) for every defined symbol of .symtab (is_symtab=true)
  // and .dynsym.
  template <typename Fn>
  void for_each_symbol(Fn&& fn) {
    for_each_symbol_in(elf.get(), fn);
  }

  template <typename Fn>
  void for_each_symbol_in(Elf* e, Fn&& fn) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(e, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      if (shdr.sh_type != SHT_SYMTAB && shdr.sh_type != SHT_DYNSYM) continue;
      bool is_symtab = shdr.sh_type == SHT_SYMTAB;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data == nullptr || shdr.sh_entsize == 0) continue;
      // Files with >= SHN_LORESERVE sections keep the real section indexes in SHT_SYMTAB_SHNDX.
      Elf_Data* xndx = nullptr;
      if (int xscn = elf_scnshndx(scn); xscn > 0) xndx = elf_getdata(elf_getscn(e, xscn), nullptr);
      const StringSection names = string_section(e, shdr.sh_link);
      size_t count = shdr.sh_size / shdr.sh_entsize;
      for (size_t i = 1; i < count; ++i) {
        GElf_Sym sym;
        Elf32_Word shndx_ext = 0;
        if (gelf_getsymshndx(data, xndx, static_cast<int>(i), &sym, &shndx_ext) == nullptr) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0) continue;
        size_t shndx = sym.st_shndx == SHN_XINDEX ? shndx_ext : sym.st_shndx;
        const char* name = names.at(e, shdr.sh_link, sym.st_name);
        if (name == nullptr) continue;
        fn(sym, name, shndx, is_symtab);
      }
    }
  }

  void build_symbols() {
    syms_built = true;
    // Counted first, so the table is allocated once at its size (no doubling slack to carry).
    size_t count = 0;
    auto counter = [&](const Sym&) { count++; };
    for_each_function(elf.get(), counter);
    if (debug_elf) for_each_function(debug_elf.get(), counter);
    syms.reserve(count);
    auto adder = [&](const Sym& sym) { syms.push_back(sym); };
    for_each_function(elf.get(), adder);
    if (debug_elf) for_each_function(debug_elf.get(), adder);
    finish_symbols();
  }

  // Calls fn(Sym) for every symbol of `e` that can be a PC's function.
  template <typename Fn>
  void for_each_function(Elf* e, Fn&& fn) {
    // Executable sections only: data symbols and absolute values are never a PC's function.
    struct SecInfo {
      bool exec = false;
      uint64_t end = 0;
    };
    std::vector<SecInfo> sections;
    size_t nsec = 0;
    if (elf_getshdrnum(e, &nsec) != 0) return;
    sections.resize(nsec);
    for (size_t i = 0; i < nsec; ++i) {
      GElf_Shdr shdr;
      Elf_Scn* scn = elf_getscn(e, i);
      if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr) continue;
      sections[i] = {(shdr.sh_flags & SHF_EXECINSTR) != 0 && (shdr.sh_flags & SHF_ALLOC) != 0,
                     shdr.sh_addr + shdr.sh_size};
    }
    for_each_symbol_in(e, [&](const GElf_Sym& s, const char* name, size_t shndx, bool is_symtab) {
      int type = GELF_ST_TYPE(s.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) return;
      if (shndx >= sections.size() || !sections[shndx].exec) return;
      uint8_t rank = 0;
      if (type == STT_NOTYPE) rank += 8;
      if (GELF_ST_BIND(s.st_info) == STB_LOCAL) rank += 4;
      if (s.st_size == 0) rank += kZeroSize;
      if (!is_symtab) rank += 1;
      uint64_t section_end = sections[shndx].end;
      uint64_t size = s.st_size != 0 ? s.st_size : section_end > s.st_value ? section_end - s.st_value : 0;
      fn(Sym{s.st_value, name, static_cast<uint32_t>(std::min<uint64_t>(size, UINT32_MAX)), rank});
    });
  }

  void finish_symbols() {
    std::sort(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) {
      return a.addr != b.addr ? a.addr < b.addr : a.rank < b.rank;
    });
    syms.erase(
        std::unique(syms.begin(), syms.end(), [](const Sym& a, const Sym& b) { return a.addr == b.addr; }),
        syms.end());
    // Zero-size symbols (hand-written assembly) extend to the next symbol or the end of their section.
    for (size_t i = 0; i < syms.size(); ++i) {
      if (!(syms[i].rank & kZeroSize)) continue;
      uint64_t size = syms[i].size;
      if (i + 1 < syms.size()) size = std::min(size, syms[i + 1].addr - syms[i].addr);
      syms[i].size = static_cast<uint32_t>(std::max<uint64_t>(size, 1));
    }
  }

  void open_debug_file(const std::string& build_id) {
    if (build_id.size() < 4) return;
    std::string path = "/usr/lib/debug/.build-id/" + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
    debug_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (debug_fd.get() < 0) return;
    debug_elf.reset(elf_begin(debug_fd.get(), ELF_C_READ_MMAP, nullptr));
    if (debug_elf && elf_kind(debug_elf.get()) != ELF_K_ELF) debug_elf.reset();
  }

  // libelf reads through a mapping of the file (ELF_C_READ_MMAP), and symbol names point into it:
  // once the file was truncated (or rewritten in place, shorter) touching a page past its new end
  // kills loopperf with SIGBUS. Such a file is not read any more; its frames stay unnamed. Checked
  // before each use, so only a truncation within that use can still hit.
  bool intact() const {
    struct stat st {};
    return ::fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= size_at_open;
  }

  // The symbol containing vaddr and its name, read from the file now (guarded: the file may have
  // been cut short since the last check).
  const Sym* find_symbol(uint64_t vaddr, std::string* name) {
    if (!syms_built) build_symbols();
    auto it = std::upper_bound(syms.begin(), syms.end(), vaddr,
                               [](uint64_t a, const Sym& s) { return a < s.addr; });
    // A few steps back covers a symbol that encloses smaller ones (local labels with FUNC type).
    for (int steps = 0; it != syms.begin() && steps < 8; ++steps) {
      --it;
      if (vaddr - it->addr >= it->size) continue;
      std::optional<std::string> n = mapped_string(it->name);
      if (!n) return nullptr;
      if (!is_function_name(*n)) continue;
      *name = std::move(*n);
      return &*it;
    }
    return nullptr;
  }

  void ensure_dwarf() {
    if (dwarf_tried) return;
    dwarf_tried = true;
    dwarf.reset(dwarf_begin_elf(elf.get(), DWARF_C_READ, nullptr));
    if (!dwarf) return;
    dwarf_new_oom_handler(dwarf.get(), &dwarf_out_of_memory);
    // Our own CU range table rather than .debug_aranges, which clang omits by default and which can
    // be incomplete; reading only each CU's top DIE is cheap even for large files.
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next = nullptr;
    Dwarf_Half version = 0;
    uint8_t unit_type = 0;
    Dwarf_Die cudie, subdie;
    while (dwarf_get_units(dwarf.get(), cu, &next, &version, &unit_type, &cudie, &subdie) == 0) {
      cu = next;
      if (unit_type == DW_UT_type || unit_type == DW_UT_split_type) continue;
      Dwarf_Addr base = 0, low = 0, high = 0;
      ptrdiff_t off = 0;
      bool any = false;
      while ((off = dwarf_ranges(&cudie, off, &base, &low, &high)) > 0) {
        if (high <= low) continue;
        cu_ranges.push_back(CuRange{low, high, cus.size()});
        any = true;
      }
      if (any) cus.push_back(CuInfo{cudie, false, {}});
    }
    std::sort(cu_ranges.begin(), cu_ranges.end(),
              [](const CuRange& a, const CuRange& b) { return a.low < b.low; });
  }

  CuInfo* find_cu(uint64_t vaddr) {
    ensure_dwarf();
    const CuRange* r = find_range(cu_ranges, vaddr);
    return r == nullptr ? nullptr : &cus[r->cu];
  }

  // Fills `frames` innermost first with the inlined callees at vaddr, followed by one frame for the
  // containing function (its name from DWARF, to be overridden by the ELF symbol). False when no CU
  // covers the address.
  bool dwarf_frames(uint64_t vaddr, std::vector<SourceFrame>& frames, uint64_t* function_low) {
    CuInfo* cu = find_cu(vaddr);
    if (cu == nullptr) return false;
    std::string file;
    int64_t line = 0;
    if (Dwarf_Line* row = dwarf_getsrc_die(&cu->die, vaddr); row != nullptr) {
      const char* src = dwarf_linesrc(row, nullptr, nullptr);
      if (src != nullptr) file = src;
      int lineno = 0;
      if (dwarf_lineno(row, &lineno) == 0) line = lineno;
    }
    // Our own function index plus a descent through the function's children, instead of
    // dwarf_getscopes: that walks the whole CU on every call (tens of microseconds in libuv, far more
    // in big C++ CUs) and stops at the first inlined instance.
    if (!cu->indexed) {
      cu->indexed = true;
      index_functions(&cu->die, cu->funcs, 0);
      std::sort(cu->funcs.begin(), cu->funcs.end(),
                [](const FuncRange& a, const FuncRange& b) { return a.low < b.low; });
    }
    const FuncRange* func = find_range(cu->funcs, vaddr);
    if (func == nullptr) {
      // Line info without a function (assembly CUs): one anonymous frame carrying the location.
      frames.push_back(SourceFrame{"", "", file, line, 0});
      return true;
    }
    if (function_low != nullptr) {
      Dwarf_Addr low = 0;
      Dwarf_Die die = func->die;
      *function_low = dwarf_lowpc(&die, &low) == 0 ? low : func->low;
    }
    std::vector<Dwarf_Die> inlined;  // outermost first
    Dwarf_Die scope = func->die;
    for (int depth = 0; depth < 256; ++depth) {
      Dwarf_Die child;
      if (dwarf_child(&scope, &child) != 0) break;
      bool descended = false;
      do {
        int tag = dwarf_tag(&child);
        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
             tag == DW_TAG_catch_block) &&
            dwarf_haspc(&child, vaddr) == 1) {
          if (tag == DW_TAG_inlined_subroutine) inlined.push_back(child);
          scope = child;
          descended = true;
          break;
        }
      } while (dwarf_siblingof(&child, &child) == 0);
      if (!descended) break;
    }
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    bool have_files = dwarf_getsrcfiles(&cu->die, &files, &nfiles) == 0;
    for (auto it = inlined.rbegin(); it != inlined.rend(); ++it) {
      SourceFrame frame;
      die_names(&*it, frame.name, frame.system_name);
      frame.file = file;
      frame.line = line;
      frames.push_back(std::move(frame));
      // The caller's location is this inlined call's call site.
      Dwarf_Attribute attr;
      Dwarf_Word value = 0;
      file.clear();
      line = 0;
      if (have_files && dwarf_formudata(dwarf_attr(&*it, DW_AT_call_file, &attr), &value) == 0 &&
          value < nfiles) {
        const char* src = dwarf_filesrc(files, value, nullptr, nullptr);
        if (src != nullptr) file = src;
      }
      if (dwarf_formudata(dwarf_attr(&*it, DW_AT_call_line, &attr), &value) == 0)
        line = static_cast<int64_t>(value);
    }
    SourceFrame outer;
    Dwarf_Die func_die = func->die;
    die_names(&func_die, outer.name, outer.system_name);
    outer.file = file;
    outer.line = line;
    frames.push_back(std::move(outer));
    return true;
  }
};

std::string demangle(const std::string& raw) {
  if (raw.size() < 2 || raw[0] != '_' || raw[1] != 'Z') return raw;
  int status = 0;
  char* out = abi::__cxa_demangle(raw.c_str(), nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) {
    free(out);
    return raw;
  }
  std::string result(out);
  free(out);
  return result;
}

Result<std::unique_ptr<ElfFile>> ElfFile::open_fd(int fd, const std::string& display_path) {
  static std::once_flag version_once;
  std::call_once(version_once, [] { elf_version(EV_CURRENT); });

  auto impl = std::make_unique<Impl>();
  impl->fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (impl->fd.get() < 0) {
    return make_error(ErrorCode::kResource,
                      "cannot duplicate the descriptor of " + display_path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(impl->fd.get(), &st) == 0) impl->size_at_open = static_cast<uint64_t>(st.st_size);
  // READ_MMAP: a 100 MB binary costs address space, not a copy; libelf reads only what we touch.
  impl->elf.reset(elf_begin(impl->fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!impl->elf || elf_kind(impl->elf.get()) != ELF_K_ELF) {
    return make_error(ErrorCode::kInput,
                      display_path + " is not an ELF file" +
                          (impl->elf ? std::string() : std::string(": ") + elf_errmsg(-1)));
  }
  size_t nphdr = 0;
  if (elf_getphdrnum(impl->elf.get(), &nphdr) == 0) {
    for (size_t i = 0; i < nphdr; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(impl->elf.get(), static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_LOAD)
        continue;
      impl->loads.push_back(
          LoadSegment{phdr.p_offset, phdr.p_vaddr, phdr.p_filesz, phdr.p_memsz, phdr.p_align});
    }
  }
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(impl->elf.get(), scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    impl->has_symtab |= shdr.sh_type == SHT_SYMTAB;
    impl->has_dynsym |= shdr.sh_type == SHT_DYNSYM;
  }

  std::unique_ptr<ElfFile> file(new ElfFile());
  const void* id = nullptr;
  ssize_t id_len = dwelf_elf_gnu_build_id(impl->elf.get(), &id);
  if (id_len > 0)
    file->build_id_ = to_hex(static_cast<const unsigned char*>(id), static_cast<size_t>(id_len));
  if (!impl->has_symtab && !file->build_id_.empty()) impl->open_debug_file(file->build_id_);
  file->path_ = display_path;
  file->impl_ = std::move(impl);
  return file;
}

Result<std::shared_ptr<ElfFile>> ElfFile::open_shared(int fd, const std::string& display_path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto opened = open_fd(fd, display_path);
    if (!opened) return opened.error();
    return std::shared_ptr<ElfFile>(std::move(opened.value()));
  }
  const std::string key = std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
                          std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
                          std::to_string(st.st_mtim.tv_nsec) + ':' + display_path;
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ElfFile>> open_files;
  std::lock_guard lock(mu);
  if (auto it = open_files.find(key); it != open_files.end()) {
    if (auto held = it->second.lock()) return held;
  }
  std::erase_if(open_files, [](const auto& kv) { return kv.second.expired(); });
  auto opened = open_fd(fd, display_path);
  if (!opened) return opened.error();
  std::shared_ptr<ElfFile> file(std::move(opened.value()));
  open_files[key] = file;
  return file;
}

Result<std::unique_ptr<ElfFile>> ElfFile::open_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    return make_error(err == EACCES || err == EPERM ? ErrorCode::kPermission : ErrorCode::kInput,
                      "cannot open " + path + ": " + std::strerror(err));
  }
  return open_fd(fd.get(), path);
}

ElfFile::~ElfFile() = default;

void ElfFile::drop_pages() {
  for (Elf* e : {impl_->elf.get(), impl_->debug_elf.get()}) {
    if (!e) continue;
    size_t size = 0;
    char* base = elf_rawfile(e, &size);
    if (!base || !size) continue;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t from = reinterpret_cast<uintptr_t>(base) & ~(page - 1);
    const uintptr_t to = reinterpret_cast<uintptr_t>(base) + size;
    // MADV_DONTNEED on a read-only private file mapping drops the pages from this process only.
    ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
  }
}

bool ElfFile::has_symbols() const { return impl_->has_symtab || impl_->has_dynsym; }

bool ElfFile::has_line_info() const {
  if (!impl_->intact()) return false;
  impl_->ensure_dwarf();
  return !impl_->cu_ranges.empty();
}

uint64_t ElfFile::vaddr_to_file_offset(uint64_t vaddr) const {
  for (const LoadSegment& seg : impl_->loads) {
    if (vaddr >= seg.vaddr && vaddr - seg.vaddr < seg.filesz) return vaddr - seg.vaddr + seg.offset;
  }
  return 0;
}

uint64_t ElfFile::file_offset_to_vaddr(uint64_t offset) const {
  for (const LoadSegment& seg : impl_->loads) {
    if (offset >= seg.offset && offset - seg.offset < seg.filesz) return offset - seg.offset + seg.vaddr;
  }
  // Mappings start at page boundaries, so an offset may precede its segment's first byte within the
  // same page, or lie in the zero-filled tail (memsz > filesz).
  for (const LoadSegment& seg : impl_->loads) {
    uint64_t align = seg.align > 1 ? seg.align : 4096;
    uint64_t page_start = seg.offset & ~(align - 1);
    if (offset >= page_start && offset < seg.offset + std::max(seg.filesz, seg.memsz)) {
      return seg.vaddr + offset - seg.offset;
    }
  }
  if (!impl_->loads.empty()) return offset - impl_->loads.front().offset + impl_->loads.front().vaddr;
  return offset;
}

ElfSymbol ElfFile::lookup(uint64_t vaddr) {
  ElfSymbol result;
  if (!impl_->intact()) return result;
  std::string sym_name;
  const Sym* sym = impl_->find_symbol(vaddr, &sym_name);
  uint64_t function_low = 0;
  bool has_dwarf = impl_->dwarf_frames(vaddr, result.frames, &function_low);
  if (sym != nullptr) {
    result.found = true;
    result.symbol_start = sym->addr;
    // The ELF symbol names the outermost frame: it is what other tools show and keeps clone suffixes
    // (uv__async_io.part.0) that callers match on.
    SourceFrame outer;
    if (has_dwarf && !result.frames.empty()) outer = std::move(result.frames.back());
    outer.system_name = std::move(sym_name);
    // Versioned names from a .symtab ("pthread_cond_wait@@GLIBC_2.3.2") name the same function.
    if (size_t at = outer.system_name.find('@'); at != std::string::npos && at > 0) outer.system_name.resize(at);
    outer.name = demangle(outer.system_name);
    if (has_dwarf && !result.frames.empty()) {
      result.frames.back() = std::move(outer);
    } else {
      result.frames.push_back(std::move(outer));
    }
  } else if (has_dwarf && !result.frames.empty() && !result.frames.back().name.empty()) {
    // No ELF symbol (e.g. stripped .symtab) but DWARF knows the function.
    result.found = true;
    result.symbol_start = function_low;
  } else {
    result.frames.clear();
  }
  return result;
}

std::string ElfFile::symbol_starting_at(uint64_t vaddr) {
  if (!impl_->intact()) return {};
  std::string name;
  const Sym* sym = impl_->find_symbol(vaddr, &name);
  return sym != nullptr && sym->addr == vaddr ? name : std::string();
}

std::vector<uint8_t> ElfFile::read_bytes(uint64_t vaddr, size_t len) const {
  for (const LoadSegment& seg : impl_->loads) {
    if (vaddr < seg.vaddr || vaddr + len > seg.vaddr + seg.filesz) continue;
    std::vector<uint8_t> out(len);
    ssize_t n = ::pread(impl_->fd.get(), out.data(), len, static_cast<off_t>(vaddr - seg.vaddr + seg.offset));
    if (n != static_cast<ssize_t>(len)) return {};
    return out;
  }
  return {};
}

bool ElfFile::exports_function(const std::string& raw_name) {
  if (!impl_->intact()) return false;
  GElf_Sym sym;
  return gnu_hash_lookup(impl_->elf.get(), raw_name, &sym) &&
         (GELF_ST_TYPE(sym.st_info) == STT_FUNC || GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC);
}

std::optional<std::pair<uint64_t, uint64_t>> ElfFile::dynamic_symbol(const std::string& raw_name) {
  if (!impl_->intact()) return std::nullopt;
  GElf_Sym sym;
  if (!gnu_hash_lookup(impl_->elf.get(), raw_name, &sym)) return std::nullopt;
  return std::make_pair(uint64_t{sym.st_value}, uint64_t{sym.st_size});
}

uint64_t ElfFile::symbol_address(const std::string& raw_name, uint64_t* size) {
  if (size != nullptr) *size = 0;
  if (!impl_->intact()) return 0;
  // uv_run and the like are exported: found through the hash table without reading every name.
  if (GElf_Sym sym; gnu_hash_lookup(impl_->elf.get(), raw_name, &sym) &&
                    (GELF_ST_TYPE(sym.st_info) == STT_FUNC || GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC)) {
    if (size != nullptr) *size = sym.st_size;
    return sym.st_value;
  }
  auto found = symbol_addresses({raw_name});
  auto it = found.find(raw_name);
  if (it == found.end()) return 0;
  if (size != nullptr) *size = it->second.second;
  return it->second.first;
}

std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> ElfFile::symbol_addresses(
    const std::vector<std::string>& raw_names) {
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> out;
  if (!impl_->intact() || raw_names.empty()) return out;
  std::vector<int> best_rank(raw_names.size(), 1 << 30);
  impl_->for_each_symbol([&](const GElf_Sym& s, const char* name, size_t, bool is_symtab) {
    // One scan of node's ~100k symbols, each name compared in place (most differ within a few
    // bytes; copying each out cost ~5 ms per scan).
    if (name == nullptr) return;
    const int i = mapped_match(name, raw_names);
    if (i < 0) return;
    int type = GELF_ST_TYPE(s.st_info);
    int rank = (type == STT_FUNC || type == STT_GNU_IFUNC ? 0 : 2) + (is_symtab ? 0 : 1);
    if (rank < best_rank[i]) {
      best_rank[i] = rank;
      out[raw_names[i]] = {s.st_value, s.st_size};
    }
  });
  return out;
}

std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> ElfFile::unexported_symbols(
    const std::vector<std::string>& raw_names) {
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> out;
  if (!impl_->intact() || raw_names.empty()) return out;
  Elf* e = impl_->elf.get();
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(e, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_SYMTAB || shdr.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr) continue;
    const StringSection names = string_section(e, shdr.sh_link);
    const size_t count = shdr.sh_size / shdr.sh_entsize;
    // sh_info: one past the last local symbol.
    const size_t locals = std::min<size_t>(shdr.sh_info, count);
    std::vector<std::string> missing = raw_names;
    for (const auto& [begin, end] : {std::pair<size_t, size_t>{1, locals}, std::pair<size_t, size_t>{locals, count}}) {
      for (size_t i = std::max<size_t>(begin, 1); i < end && !missing.empty(); ++i) {
        GElf_Sym sym;
        if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0) continue;
        const char* name = names.at(e, shdr.sh_link, sym.st_name);
        if (name == nullptr) continue;
        const int k = mapped_match(name, missing);
        if (k < 0) continue;
        out.emplace(missing[static_cast<size_t>(k)], std::make_pair(uint64_t{sym.st_value}, uint64_t{sym.st_size}));
        missing.erase(missing.begin() + k);
      }
    }
    break;  // one .symtab
  }
  return out;
}

}  // namespace loopperf::symbols
