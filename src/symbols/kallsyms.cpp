#include "loopperf/symbols/kallsyms.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "loopperf/common/fs.h"

namespace loopperf::symbols {

namespace {

// A PC this far past the nearest lower symbol is not inside that symbol (gaps, module boundaries).
constexpr uint64_t kMaxDistance = uint64_t{1} << 20;

bool is_text_type(char t) { return t == 't' || t == 'T' || t == 'w' || t == 'W'; }

}  // namespace

void Kallsyms::load(const std::string& path) {
  // /proc/kallsyms is ~10 MB on a distro kernel; read_small_file's default cap is large enough.
  auto text = read_small_file(path, size_t{64} << 20);
  if (!text) {
    syms_.clear();
    return;
  }
  parse(*text);
}

void Kallsyms::parse(const std::string& text) {
  syms_.clear();
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    // "<hex addr> <type> <name>[\t[module]]"
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 16) continue;
    if (line.size() < sp1 + 4 || line[sp1 + 2] != ' ') continue;
    uint64_t addr = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + sp1, addr, 16);
    if (ec != std::errc() || ptr != line.data() + sp1) continue;
    // With kptr_restrict every address reads as zero; such entries can name nothing.
    if (addr == 0) continue;
    if (!is_text_type(line[sp1 + 1])) continue;
    std::string_view name = line.substr(sp1 + 3);
    size_t end = name.find_first_of("\t ");
    name = name.substr(0, end);
    if (name.empty()) continue;
    syms_.push_back(Sym{addr, std::string(name)});
  }
  std::stable_sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
}

std::string Kallsyms::lookup(uint64_t addr) const {
  auto it =
      std::upper_bound(syms_.begin(), syms_.end(), addr, [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (it == syms_.begin()) return {};
  --it;
  // Several names can share an address (_stext/_text); the first printed one is as good as any.
  uint64_t sym_addr = it->addr;
  while (it != syms_.begin() && std::prev(it)->addr == sym_addr) --it;
  if (addr - it->addr > kMaxDistance) return {};
  return it->name;
}

}  // namespace loopperf::symbols
