#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loopperf::symbols {

// /proc/kallsyms. When kptr_restrict hides addresses (all zero) it is empty and every kernel frame is
// named "[kernel]".
class Kallsyms {
 public:
  void load(const std::string& path = "/proc/kallsyms");
  void parse(const std::string& text);
  bool usable() const { return !syms_.empty(); }
  // Symbol name containing addr, "" when unknown.
  std::string lookup(uint64_t addr) const;

 private:
  struct Sym {
    uint64_t addr;
    std::string name;
  };
  std::vector<Sym> syms_;  // sorted
};

}  // namespace loopperf::symbols
