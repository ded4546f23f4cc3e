#include "loopperf/symbols/kallsyms.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#include "loopperf/common/unique_fd.h"

namespace loopperf::symbols {

namespace {

// A PC this far past the nearest lower symbol is not inside that symbol (gaps, module boundaries).
constexpr uint64_t kMaxDistance = uint64_t{1} << 20;

bool is_text_type(char t) { return t == 't' || t == 'T' || t == 'w' || t == 'W'; }

}  // namespace

void Kallsyms::load(const std::string& path) {
  syms_.clear();
  names_.clear();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return;
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t done = 0;
    for (size_t nl; (nl = buf.find('\n', done)) != std::string::npos; done = nl + 1)
      add_line(std::string_view(buf).substr(done, nl - done));
    buf.erase(0, done);
  }
  if (!buf.empty()) add_line(buf);
  finish();
}

void Kallsyms::parse(const std::string& text) {
  syms_.clear();
  names_.clear();
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    add_line(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  finish();
}

void Kallsyms::add_line(std::string_view line) {
  // "<hex addr> <type> <name>[\t[module]]"
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 16) return;
  if (line.size() < sp1 + 4 || line[sp1 + 2] != ' ') return;
  uint64_t addr = 0;
  auto [ptr, ec] = std::from_chars(line.data(), line.data() + sp1, addr, 16);
  if (ec != std::errc() || ptr != line.data() + sp1) return;
  // With kptr_restrict every address reads as zero; such entries can name nothing.
  if (addr == 0) return;
  if (!is_text_type(line[sp1 + 1])) return;
  std::string_view name = line.substr(sp1 + 3);
  size_t end = name.find_first_of("\t ");
  name = name.substr(0, end);
  if (name.empty() || names_.size() > UINT32_MAX - name.size() - 1) return;
  syms_.push_back(Sym{addr, static_cast<uint32_t>(names_.size())});
  names_.append(name);
  names_.push_back('\0');
}

void Kallsyms::finish() {
  std::stable_sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
  syms_.shrink_to_fit();
  names_.shrink_to_fit();
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
  return std::string(names_.data() + it->name);
}

}  // namespace loopperf::symbols
