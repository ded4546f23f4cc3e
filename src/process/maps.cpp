#include "loopperf/process/maps.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "loopperf/common/fs.h"

namespace loopperf::process {

namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

bool parse_hex(std::string_view text, uint64_t& out) {
  if (text.empty() || text.size() > 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_dec(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 10);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits off the next space-delimited field; `rest` is advanced past it and its trailing blanks.
std::string_view next_field(std::string_view& rest) {
  size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  size_t end = rest.find(' ');
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

bool parse_line(std::string_view line, MapEntry& out) {
  std::string_view rest = line;
  std::string_view range = next_field(rest);
  std::string_view perms = next_field(rest);
  std::string_view offset = next_field(rest);
  std::string_view dev = next_field(rest);
  std::string_view inode = next_field(rest);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return false;
  if (!parse_hex(range.substr(0, dash), out.start) || !parse_hex(range.substr(dash + 1), out.end))
    return false;
  if (out.end <= out.start) return false;
  if (perms.size() != 4) return false;
  out.readable = perms[0] == 'r';
  out.writable = perms[1] == 'w';
  out.executable = perms[2] == 'x';
  out.is_private = perms[3] == 'p';
  if (!parse_hex(offset, out.offset)) return false;
  if (dev.find(':') == std::string_view::npos) return false;
  out.dev = std::string(dev);
  if (!parse_dec(inode, out.inode)) return false;
  // The path is everything after the inode's padding; it may itself contain spaces.
  size_t path_begin = rest.find_first_not_of(' ');
  out.path = path_begin == std::string_view::npos ? std::string() : std::string(rest.substr(path_begin));
  return true;
}

}  // namespace

bool MapEntry::is_deleted() const {
  return path.size() > kDeletedSuffix.size() &&
         std::string_view(path).substr(path.size() - kDeletedSuffix.size()) == kDeletedSuffix;
}

std::string MapEntry::clean_path() const { return std::string(clean_path_view()); }

std::string_view MapEntry::clean_path_view() const {
  std::string_view p = path;
  if (is_deleted()) p.remove_suffix(kDeletedSuffix.size());
  return p;
}

std::vector<MapEntry> parse_maps(const std::string& text) {
  std::vector<MapEntry> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    MapEntry entry;
    if (!line.empty() && parse_line(line, entry)) out.push_back(std::move(entry));
  }
  // The kernel prints in address order; sort anyway so find_map's precondition holds for any input.
  if (!std::is_sorted(out.begin(), out.end(),
                      [](const MapEntry& a, const MapEntry& b) { return a.start < b.start; })) {
    std::stable_sort(out.begin(), out.end(),
                     [](const MapEntry& a, const MapEntry& b) { return a.start < b.start; });
  }
  return out;
}

Result<std::vector<MapEntry>> read_maps(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  auto text = read_small_file(path, size_t{256} << 20);
  if (!text) {
    int err = errno;
    if (err == EACCES || err == EPERM) {
      return make_error(ErrorCode::kPermission, "cannot read " + path + ": " + std::strerror(err),
                        "run as the target's user or as root");
    }
    return make_error(ErrorCode::kNoProcess, "cannot read " + path + ": " + std::strerror(err),
                      "check that process " + std::to_string(pid) + " is still running");
  }
  return parse_maps(*text);
}

const MapEntry* find_map(const std::vector<MapEntry>& maps, uint64_t addr) {
  // First entry starting after addr; the candidate is the one before it.
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](uint64_t a, const MapEntry& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

std::string libnode_path(const std::vector<MapEntry>& maps) {
  for (const auto& m : maps) {
    std::string_view p = m.clean_path_view();
    const size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) continue;
    std::string_view name = p.substr(slash + 1);
    if (name == "libnode.so" || name.starts_with("libnode.so.")) return std::string(p);
  }
  return {};
}

}  // namespace loopperf::process
