#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loopperf::symbols {

// /proc/kallsyms. When kptr_restrict hides addresses (all zero) it is empty and every kernel frame is
// named "[kernel]".
class Kallsyms {
 public:
  // Reads the file a chunk at a time: /proc/kallsyms is ~10 MB of text, kept are ~4 MB.
  void load(const std::string& path = "/proc/kallsyms");
  void parse(const std::string& text);
  bool usable() const { return !syms_.empty(); }
  // Symbol name containing addr, "" when unknown.
  std::string lookup(uint64_t addr) const;

 private:
  void add_line(std::string_view line);
  void finish();

  struct Sym {
    uint64_t addr;
    uint32_t name;  // offset into names_
  };
  std::vector<Sym> syms_;  // sorted
  std::string names_;      // every name, each followed by '\0': one allocation instead of 100k strings
};

}  // namespace loopperf::symbols
