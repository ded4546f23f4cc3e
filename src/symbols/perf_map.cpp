#include "loopperf/symbols/perf_map.h"

#include "loopperf/profile/profile.h"

#include <charconv>
#include <iterator>

namespace loopperf::symbols {

namespace {

// V8 prints code sizes with %x of an int; anything near 4 GiB is corruption, not code.
constexpr uint64_t kMaxEntrySize = uint64_t{1} << 32;
// A "line" this long without a newline is garbage (e.g. a binary file); drop it instead of buffering.
constexpr size_t kMaxLineLength = size_t{1} << 20;

bool parse_hex(std::string_view text, uint64_t& out) {
  if (text.empty() || text.size() > 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_dec(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 10) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 10);
  return ec == std::errc() && ptr == text.data() + text.size() && out >= 0;
}

bool is_tier(char c) { return c == '~' || c == '^' || c == '+' || c == '*'; }

// Does `token` look like the start of a V8 script name? Used to split "get foo /a b/c.js" into the
// function name and the script, both of which may contain spaces.
bool looks_like_script_start(std::string_view token) {
  if (token.empty()) return false;
  if (token[0] == '/' || token[0] == '[' || token[0] == '<' || token[0] == '.') return true;
  if (token.starts_with("file:") || token.starts_with("node:") || token.starts_with("http:") ||
      token.starts_with("https:") || token.starts_with("data:") || token.starts_with("evalmachine.")) {
    return true;
  }
  return false;
}

// Splits "<name> <script>:<line>:<col>" (JS and Eval entries, tier already removed); V8 10 and
// older write no column ("<name> <script>:<line>"): `line_only` accepts that.
void parse_js_location(std::string_view rest, PerfMapEntry& out, bool line_only) {
  // The location is ":<line>:<col>" at the very end; without it the whole text is the name.
  std::string_view script_and_name = rest;
  bool has_location = false;
  size_t col_colon = rest.rfind(':');
  if (col_colon != std::string_view::npos && col_colon > 0) {
    size_t line_colon = rest.rfind(':', col_colon - 1);
    int64_t line = 0, column = 0;
    if (line_colon != std::string_view::npos &&
        parse_dec(rest.substr(line_colon + 1, col_colon - line_colon - 1), line) &&
        parse_dec(rest.substr(col_colon + 1), column)) {
      out.line = line;
      out.column = column;
      script_and_name = rest.substr(0, line_colon);
      has_location = true;
    } else if (line_only && parse_dec(rest.substr(col_colon + 1), line)) {
      out.line = line;
      script_and_name = rest.substr(0, col_colon);
      has_location = true;
    }
  }
  if (!has_location) {
    out.name = std::string(rest);
  } else {
    // V8 writes "<name> <script>"; an empty name gives a leading space, an empty script a trailing one.
    // Both parts may contain spaces: prefer the first later token that looks like a script, else the
    // last space.
    size_t split = std::string_view::npos;
    for (size_t pos = script_and_name.find(' '); pos != std::string_view::npos;
         pos = script_and_name.find(' ', pos + 1)) {
      if (pos == 0 || looks_like_script_start(script_and_name.substr(pos + 1))) {
        split = pos;
        break;
      }
    }
    if (split == std::string_view::npos) split = script_and_name.rfind(' ');
    if (split == std::string_view::npos) {
      // "name:1:2" with no space at all: V8 never writes that, treat all of it as the script.
      out.file = std::string(script_and_name);
    } else {
      out.name = std::string(script_and_name.substr(0, split));
      out.file = std::string(script_and_name.substr(split + 1));
    }
  }
  if (out.name.empty()) out.name = "(anonymous)";
}

}  // namespace

bool parse_perf_map_line(std::string_view line, PerfMapEntry& out) {
  out = PerfMapEntry{};
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  if (!parse_hex(line.substr(0, sp1), out.start)) return false;
  if (!parse_hex(line.substr(sp1 + 1, sp2 - sp1 - 1), out.size)) return false;
  if (out.size > kMaxEntrySize || out.start + out.size < out.start) return false;
  std::string_view name = line.substr(sp2 + 1);
  if (name.empty()) return false;
  // Control bytes never occur in names V8 writes (UTF-8 is fine); they mean a corrupt or foreign file.
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  out.raw = std::string(name);

  auto strip_prefix = [&name](std::string_view prefix) {
    if (!name.starts_with(prefix)) return false;
    name.remove_prefix(prefix.size());
    return true;
  };
  // "JS:" since V8 11 (node 20); before it (node 18 and older, which distributions still ship)
  // JavaScript code was tagged by how it was compiled: "LazyCompile:", "Function:", "Script:", and
  // "Native*:" for V8's own JavaScript.
  bool v8_10 = false;  // tagged as V8 10 and older tag it: locations without a column
  if (std::string_view tag = profile::v8_js_tag(name); !tag.empty()) {
    out.kind = JitKind::kJs;
    v8_10 = tag != "JS:";
    name.remove_prefix(tag.size());
  } else if (strip_prefix("Eval:")) {
    out.kind = JitKind::kEval;
  } else if (name.starts_with("Builtin:")) {
    out.kind = JitKind::kBuiltin;
  } else if (name.starts_with("BytecodeHandler:")) {
    out.kind = JitKind::kBytecodeHandler;
  } else if (name.starts_with("RegExp:")) {
    out.kind = JitKind::kRegExp;
  }
  if (out.kind == JitKind::kJs || out.kind == JitKind::kEval) {
    // V8 12+ marks on-stack-replaced Maglev and TurboFan code "o+" / "o*" ("JS:o*hot"): the 'o' is
    // part of the marker ('+' and '*' cannot appear in a name).
    if (name.size() >= 2 && name[0] == 'o' && (name[1] == '+' || name[1] == '*')) name.remove_prefix(1);
    if (!name.empty() && is_tier(name[0])) {
      out.tier = name[0];
      name.remove_prefix(1);
      // V8 12+ (node 24, 26) marks context-specialized Maglev and TurboFan code with a quote after
      // the tier ("JS:+'tick", "JS:*'tick"): part of the marker, not of the function's name.
      if ((out.tier == '+' || out.tier == '*') && name.starts_with('\'')) name.remove_prefix(1);
    }
    parse_js_location(name, out, v8_10 || out.kind == JitKind::kEval);
  } else {
    // Builtins, handlers, regexps: the kind prefix keeps them recognizable; a regexp source may end in
    // something that looks like ":1:2", so no location parsing here.
    out.name = out.raw;
  }
  return true;
}

void PerfMap::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      if (partial_.size() > kMaxLineLength) {
        ++malformed_;
        partial_.clear();
      }
      return;
    }
    std::string_view line = bytes.substr(0, nl);
    if (!partial_.empty()) {
      partial_.append(line);
      line = partial_;
    }
    if (!line.empty()) {
      PerfMapEntry entry;
      if (parse_perf_map_line(line, entry)) {
        insert(std::move(entry));
      } else {
        ++malformed_;
      }
    }
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void PerfMap::insert(PerfMapEntry entry) {
  if (entry.size == 0) return;  // covers no address
  const uint64_t start = entry.start;
  const uint64_t end = entry.start + entry.size;
  // Like perf's maps__fixup_overlappings: older intervals are trimmed to the parts the new entry does
  // not cover, because the perf map has no timestamps to say which one a sample saw.
  auto it = by_start_.lower_bound(start);
  if (it != by_start_.begin()) {
    auto prev = std::prev(it);
    uint64_t prev_end = prev->second.start + prev->second.size;
    if (prev_end > start) {
      if (prev_end > end) {
        // The new entry sits inside the older one: keep its tail as a separate interval.
        PerfMapEntry tail = prev->second;
        tail.start = end;
        tail.size = prev_end - end;
        by_start_.emplace(end, std::move(tail));
      }
      prev->second.size = start - prev->second.start;
    }
  }
  it = by_start_.lower_bound(start);
  while (it != by_start_.end() && it->first < end) {
    uint64_t old_end = it->second.start + it->second.size;
    if (old_end <= end) {
      it = by_start_.erase(it);
      continue;
    }
    // Overlaps only our tail: keep the part after `end`.
    PerfMapEntry tail = std::move(it->second);
    tail.size = old_end - end;
    tail.start = end;
    by_start_.erase(it);
    by_start_.emplace(end, std::move(tail));
    break;
  }
  by_start_.insert_or_assign(start, std::move(entry));
}

const PerfMapEntry* PerfMap::lookup(uint64_t addr) const {
  auto it = by_start_.upper_bound(addr);
  if (it == by_start_.begin()) return nullptr;
  --it;
  const PerfMapEntry& e = it->second;
  return addr - e.start < e.size ? &e : nullptr;
}

}  // namespace loopperf::symbols
