// Symbols of one ELF file through elfutils libdw: .symtab, .dynsym, C++ demangling, DWARF line info
// where present (with inlined frames), build id. Addresses are ELF virtual addresses of the file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopperf/common/result.h"

namespace loopperf::symbols {

struct SourceFrame {
  std::string name;         // demangled, "" when unknown
  std::string system_name;  // raw (mangled) name
  std::string file;         // source file, "" when no line info
  int64_t line = 0;
  int64_t column = 0;       // JIT frames from the perf map; 0 when unknown (DWARF frames)
  bool operator==(const SourceFrame&) const = default;
};

struct ElfSymbol {
  bool found = false;
  uint64_t symbol_start = 0;  // vaddr of the symbol
  // Innermost first: inlined callees, then the containing function. frames.back() is the ELF symbol.
  std::vector<SourceFrame> frames;
};

class ElfFile {
 public:
  // Opens from an fd (dup'ed, the caller keeps its own) so deleted binaries and files in other mount
  // namespaces work; `display_path` is what the profile shows.
  static Result<std::unique_ptr<ElfFile>> open_fd(int fd, const std::string& display_path);
  static Result<std::unique_ptr<ElfFile>> open_path(const std::string& path);
  // open_fd, shared with every other user of the same file (device, inode, size, mtime) and path
  // while one holds it: the processes of one recording that run one node binary read its symbols
  // once (its sorted symbol table alone is tens of MB). For the recording's own thread: an ElfFile
  // fills its tables lazily, unsynchronized.
  static Result<std::shared_ptr<ElfFile>> open_shared(int fd, const std::string& display_path);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& build_id() const { return build_id_; }  // lowercase hex, "" when none
  // Gives back the pages of the file's mapping that reading it touched (libelf maps it read-only:
  // they are clean page-cache pages, counted in loopperf's RSS until the kernel reclaims them). Later
  // reads fault them in again from the page cache. For a long-lived recording (watch): node's symbol
  // and debug sections are ~17 MB of it after one scan.
  void drop_pages();
  bool has_symbols() const;   // .symtab or .dynsym present
  bool has_line_info() const;

  // Converts a mapping-relative file offset into an ELF vaddr using the PT_LOAD headers.
  uint64_t file_offset_to_vaddr(uint64_t offset) const;
  // The inverse, for a vaddr inside a PT_LOAD segment's file bytes (a uprobe's offset); 0 when none.
  uint64_t vaddr_to_file_offset(uint64_t vaddr) const;

  ElfSymbol lookup(uint64_t vaddr);
  // Raw name of the symbol that starts exactly at `vaddr`, "" when none.
  std::string symbol_starting_at(uint64_t vaddr);
  // File bytes backing [vaddr, vaddr+len) (e.g. a function's code); empty when not in the file.
  std::vector<uint8_t> read_bytes(uint64_t vaddr, size_t len) const;
  // Whether the file exports a function of that exact name, through its GNU hash table alone
  // (no scan of the symbols: cheap on any binary).
  bool exports_function(const std::string& raw_name);
  // A defined dynamic symbol of any type by exact name, through the GNU hash table alone:
  // (vaddr, size), or nothing (absent, or the file has no GNU hash section).
  std::optional<std::pair<uint64_t, uint64_t>> dynamic_symbol(const std::string& raw_name);
  // vaddr of a symbol by exact (raw) name; 0 when absent. Used to find e.g. uv_run.
  uint64_t symbol_address(const std::string& raw_name, uint64_t* size = nullptr);
  // The same for several names in one scan of the symbol tables (node has ~100k symbols): name ->
  // (vaddr, size) for each one found.
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> symbol_addresses(const std::vector<std::string>& raw_names);
  // For names known not to be exported: the first .symtab entry of each, looked for among the
  // local symbols first (where the linker puts hidden ones, V8's among them: a fifth of node's
  // symbols) and among the rest only for names still missing; stops once all are found.
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> unexported_symbols(const std::vector<std::string>& raw_names);

  struct Impl;

 private:
  ElfFile() = default;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  std::string build_id_;
};

std::string demangle(const std::string& raw);

}  // namespace loopperf::symbols
