#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "loopperf/symbols/perf_map.h"

using loopperf::symbols::JitKind;
using loopperf::symbols::parse_perf_map_line;
using loopperf::symbols::PerfMap;
using loopperf::symbols::PerfMapEntry;

namespace {

PerfMapEntry parse(const std::string& line) {
  PerfMapEntry e;
  INFO(line);
  REQUIRE(parse_perf_map_line(line, e));
  return e;
}

bool rejects(std::string_view line) {
  PerfMapEntry e;
  return !parse_perf_map_line(line, e);
}

}  // namespace

TEST_CASE("perf map: JS entries of every tier", "[perf_map]") {
  auto turbofan = parse("7fdb8c0067c0 2bc JS:*authMiddleware /srv/app.js:17:3");
  CHECK(turbofan.start == 0x7fdb8c0067c0);
  CHECK(turbofan.size == 0x2bc);
  CHECK(turbofan.kind == JitKind::kJs);
  CHECK(turbofan.tier == '*');
  CHECK(turbofan.name == "authMiddleware");
  CHECK(turbofan.file == "/srv/app.js");
  CHECK(turbofan.line == 17);
  CHECK(turbofan.column == 3);
  CHECK(turbofan.raw == "JS:*authMiddleware /srv/app.js:17:3");

  auto interpreted = parse("225bf896871e 36 JS:~fib file:///x.mjs:3:10");
  CHECK(interpreted.tier == '~');
  CHECK(interpreted.name == "fib");
  CHECK(interpreted.file == "file:///x.mjs");  // colons inside the script name survive
  CHECK(interpreted.line == 3);
  CHECK(interpreted.column == 10);

  auto maglev = parse("1000 10 JS:+foo node:internal/fs/utils:12:4");
  CHECK(maglev.tier == '+');
  CHECK(maglev.name == "foo");
  CHECK(maglev.file == "node:internal/fs/utils");
  CHECK(maglev.line == 12);
  CHECK(maglev.column == 4);

  auto baseline = parse("7f8134007400 48 JS:^ :1:20");
  CHECK(baseline.tier == '^');
  CHECK(baseline.name == "(anonymous)");
  CHECK(baseline.file.empty());
  CHECK(baseline.line == 1);
  CHECK(baseline.column == 20);
}

TEST_CASE("perf map: anonymous functions with a script, no tier, no location", "[perf_map]") {
  auto anon = parse("7fdb8c005b80 40c JS:^ /tmp/pmtest/hot.js:1:1");
  CHECK(anon.name == "(anonymous)");
  CHECK(anon.file == "/tmp/pmtest/hot.js");

  auto no_tier = parse("1000 10 JS:plain /a.js:2:3");
  CHECK(no_tier.tier == 0);
  CHECK(no_tier.name == "plain");
  CHECK(no_tier.file == "/a.js");

  auto no_location = parse("1000 10 JS:*justAName");
  CHECK(no_location.name == "justAName");
  CHECK(no_location.file.empty());
  CHECK(no_location.line == 0);
}

TEST_CASE("perf map: names and script paths with spaces", "[perf_map]") {
  // Getters are named "get foo"; a script path may also contain spaces. The script starts at the
  // first later token that looks like a script name ("/", "file:", "node:", ...).
  auto getter = parse("7fdb8c006f40 134 JS:*get foo /a b/c.js:1:2");
  CHECK(getter.name == "get foo");
  CHECK(getter.file == "/a b/c.js");
  CHECK(getter.line == 1);
  CHECK(getter.column == 2);

  auto setter = parse("1000 10 JS:~set value file:///home/me/my app/x.mjs:40:7");
  CHECK(setter.name == "set value");
  CHECK(setter.file == "file:///home/me/my app/x.mjs");
  CHECK(setter.line == 40);

  // Without a recognizable script start, the last space separates name and script.
  auto relative = parse("1000 10 JS:*get bar app.js:5:6");
  CHECK(relative.name == "get bar");
  CHECK(relative.file == "app.js");
}

TEST_CASE("perf map: builtins, bytecode handlers, regexps, eval", "[perf_map]") {
  auto builtin = parse("1a076c0 e70 Builtin:ArrayMap");
  CHECK(builtin.kind == JitKind::kBuiltin);
  CHECK(builtin.name == "Builtin:ArrayMap");
  CHECK(builtin.tier == 0);
  CHECK(builtin.file.empty());

  auto handler = parse("1a07000 20 BytecodeHandler:Ldar");
  CHECK(handler.kind == JitKind::kBytecodeHandler);
  CHECK(handler.name == "BytecodeHandler:Ldar");

  // The leading ^ is part of the pattern, not a tier; a pattern ending like ":1:2" is not a location.
  auto regexp = parse("2000 100 RegExp:^(a+)+$");
  CHECK(regexp.kind == JitKind::kRegExp);
  CHECK(regexp.tier == 0);
  CHECK(regexp.name == "RegExp:^(a+)+$");
  auto tricky = parse("2100 100 RegExp:x y:1:2");
  CHECK(tricky.line == 0);
  CHECK(tricky.file.empty());

  auto eval = parse("1aea2b0a6be 5 Eval:~ :1:1");
  CHECK(eval.kind == JitKind::kEval);
  CHECK(eval.tier == '~');
  CHECK(eval.name == "(anonymous)");
  CHECK(eval.line == 1);
  CHECK(eval.column == 1);

  auto other = parse("3000 10 Stub:CEntry");
  CHECK(other.kind == JitKind::kOther);
  CHECK(other.name == "Stub:CEntry");
}

TEST_CASE("perf map: malformed lines are rejected", "[perf_map]") {
  CHECK(rejects(""));
  CHECK(rejects("1000"));
  CHECK(rejects("1000 10"));
  CHECK(rejects("1000 10 "));                   // empty name
  CHECK(rejects("0x1000 10 JS:*f /a.js:1:1"));  // V8 never prints 0x
  CHECK(rejects("xyz 10 JS:*f /a.js:1:1"));
  CHECK(rejects("1000 zz JS:*f /a.js:1:1"));
  CHECK(rejects("-1000 10 JS:*f"));
  CHECK(rejects("1000 100000001 JS:*f"));        // size > 4 GiB
  CHECK(rejects("ffffffffffffffff 10 JS:*f"));   // wraps around
  CHECK(rejects("12345678901234567 10 JS:*f"));  // 17 hex digits
  CHECK(rejects(std::string_view("1000 10 JS:\0\x01\x02", 14)));
  CHECK(rejects("1000 10 JS:*f\x1b[31m"));
  CHECK_FALSE(rejects("1000 10 JS:*caf\xc3\xa9 /a.js:1:1"));  // UTF-8 names are fine
  CHECK_FALSE(rejects("1000 10 JS:*f /a.js:1:1\r"));          // CRLF tolerated
}

TEST_CASE("perf map: lookup is half-open", "[perf_map]") {
  PerfMap map;
  map.feed("1000 100 JS:*a /a.js:1:1\n3000 10 JS:*b /b.js:2:2\n");
  REQUIRE(map.size() == 2);
  CHECK(map.lookup(0xfff) == nullptr);
  REQUIRE(map.lookup(0x1000) != nullptr);
  CHECK(map.lookup(0x1000)->name == "a");
  CHECK(map.lookup(0x10ff)->name == "a");
  CHECK(map.lookup(0x1100) == nullptr);
  CHECK(map.lookup(0x300f)->name == "b");
  CHECK(map.lookup(0x3010) == nullptr);
}

TEST_CASE("perf map: later entries win over the ones they overlap", "[perf_map]") {
  SECTION("same start, larger") {
    PerfMap map;
    map.feed("7f8134007400 48 JS:^ :1:20\n7f8134007400 ac JS:* :1:20\n");
    REQUIRE(map.size() == 1);
    CHECK(map.lookup(0x7f8134007400)->tier == '*');
    CHECK(map.lookup(0x7f81340074ab)->tier == '*');
  }
  SECTION("partial overlap at the front keeps the old tail") {
    PerfMap map;
    map.feed("1000 100 JS:*old /a.js:1:1\n0f80 100 JS:*new /a.js:2:1\n");
    CHECK(map.lookup(0xf80)->name == "new");
    CHECK(map.lookup(0x107f)->name == "new");
    CHECK(map.lookup(0x1080)->name == "old");
    CHECK(map.lookup(0x10ff)->name == "old");
    CHECK(map.lookup(0x1100) == nullptr);
    CHECK(map.lookup(0x1080)->start == 0x1080);
  }
  SECTION("partial overlap at the back keeps the old head") {
    PerfMap map;
    map.feed("1000 100 JS:*old /a.js:1:1\n1080 100 JS:*new /a.js:2:1\n");
    CHECK(map.lookup(0x107f)->name == "old");
    CHECK(map.lookup(0x1080)->name == "new");
    CHECK(map.lookup(0x117f)->name == "new");
    CHECK(map.size() == 2);
  }
  SECTION("new entry inside an old one splits it") {
    PerfMap map;
    map.feed("1000 300 JS:*big /a.js:1:1\n1100 10 JS:*small /a.js:2:1\n");
    CHECK(map.lookup(0x10ff)->name == "big");
    CHECK(map.lookup(0x1100)->name == "small");
    CHECK(map.lookup(0x110f)->name == "small");
    CHECK(map.lookup(0x1110)->name == "big");
    CHECK(map.lookup(0x12ff)->name == "big");
    CHECK(map.size() == 3);
  }
  SECTION("new entry covering several old ones erases them") {
    PerfMap map;
    map.feed(
        "1000 10 JS:*a /a.js:1:1\n1010 10 JS:*b /a.js:1:1\n1020 10 JS:*c /a.js:1:1\n1030 10 JS:*d "
        "/a.js:1:1\n");
    map.feed("1008 20 JS:*wide /a.js:9:9\n");
    CHECK(map.lookup(0x1007)->name == "a");
    CHECK(map.lookup(0x1008)->name == "wide");
    CHECK(map.lookup(0x1018)->name == "wide");
    CHECK(map.lookup(0x1027)->name == "wide");
    CHECK(map.lookup(0x1028)->name == "c");
    CHECK(map.lookup(0x1030)->name == "d");
    CHECK(map.size() == 4);  // a (head), wide, c (tail), d
  }
  SECTION("adjacent entries do not overlap") {
    PerfMap map;
    map.feed("1000 10 JS:*a /a.js:1:1\n1010 10 JS:*b /a.js:1:1\n");
    CHECK(map.lookup(0x100f)->name == "a");
    CHECK(map.lookup(0x1010)->name == "b");
  }
}

TEST_CASE("perf map: feed keeps a partial line until the rest arrives", "[perf_map]") {
  PerfMap map;
  map.feed("1000 10 JS:*first /a.js:1:1\n2000 20 JS:*sec");
  CHECK(map.size() == 1);
  CHECK(map.lookup(0x2000) == nullptr);
  CHECK(map.malformed_lines() == 0);
  map.feed("ond /b.js:3:4");
  CHECK(map.size() == 1);
  map.feed("\n");
  REQUIRE(map.size() == 2);
  REQUIRE(map.lookup(0x2000) != nullptr);
  CHECK(map.lookup(0x2000)->name == "second");
  CHECK(map.lookup(0x2000)->file == "/b.js");
  CHECK(map.lookup(0x2000)->column == 4);

  // Byte-by-byte feeding gives the same result as one chunk.
  std::string text = "3000 30 Builtin:ArrayMap\n4000 40 JS:~x file:///x.mjs:1:2\n";
  PerfMap bytewise;
  for (char c : text) bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.size() == 2);
  CHECK(bytewise.lookup(0x4001)->file == "file:///x.mjs");
}

TEST_CASE("perf map: malformed lines and binary garbage are counted and skipped", "[perf_map]") {
  PerfMap map;
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  map.feed("1000 10 JS:*good /a.js:1:1\n");
  map.feed("not a line\n");
  map.feed("2000 fffffffff JS:*huge\n");
  map.feed(garbage);
  map.feed("\n");
  map.feed("\n\n");  // empty lines are not errors
  map.feed("3000 10 JS:*alsoGood /a.js:2:2\n");
  CHECK(map.size() == 2);
  CHECK(map.lookup(0x1000)->name == "good");
  CHECK(map.lookup(0x3000)->name == "alsoGood");
  CHECK(map.malformed_lines() >= 3);
  CHECK(map.lookup(0x2000) == nullptr);
}

TEST_CASE("perf map: an endless line without newline is dropped, not buffered forever", "[perf_map]") {
  PerfMap map;
  std::string chunk(64 * 1024, 'A');
  for (int i = 0; i < 40; ++i) map.feed(chunk);  // 2.5 MB without '\n'
  CHECK(map.malformed_lines() >= 1);
  map.feed("\n1000 10 JS:*after /a.js:1:1\n");
  REQUIRE(map.lookup(0x1000) != nullptr);
  CHECK(map.lookup(0x1000)->name == "after");
}

TEST_CASE("perf map: insert of a zero-size entry covers nothing", "[perf_map]") {
  PerfMap map;
  map.feed("1000 0 JS:*empty /a.js:1:1\n");
  CHECK(map.size() == 0);
  CHECK(map.malformed_lines() == 0);
  CHECK(map.lookup(0x1000) == nullptr);
}

TEST_CASE("perf map: pseudo-random bytes in random chunks never break later lines", "[perf_map]") {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    if (i % 10 == 0) {
      text += "\n" + std::to_string(0x100000 + i * 0x100) + " 10 JS:*fn" + std::to_string(i) + " /x.js:1:1\n";
    } else {
      for (int j = 0; j < 60; ++j) text.push_back(static_cast<char>(next() & 0xff));
    }
  }
  PerfMap map;
  for (size_t pos = 0; pos < text.size();) {
    size_t n = std::min<size_t>(1 + next() % 97, text.size() - pos);
    map.feed(std::string_view(text).substr(pos, n));
    pos += n;
  }
  // Every valid line starts right after a '\n' and ends with one, so all 200 survive.
  for (int i = 0; i < 2000; i += 10) {
    // The start was written in decimal digits, which parse as hex.
    uint64_t start = std::stoull(std::to_string(0x100000 + i * 0x100), nullptr, 16);
    const PerfMapEntry* e = map.lookup(start);
    REQUIRE(e != nullptr);
    CHECK(e->name == "fn" + std::to_string(i));
  }
  CHECK(map.malformed_lines() > 0);
}

TEST_CASE("perf map: V8 12's context-specialized marker after the tier is not part of the name") {
  // Lines as node 24.22.3 writes them (measured 2026-12-03).
  for (const char* line : {"7f19cc040040 294 JS:+'tick [eval]:1:14", "7f19cc003e00 1d4 JS:*'tick [eval]:1:14"}) {
    auto e = parse(line);
    CHECK(e.name == "tick");
    CHECK(e.file == "[eval]");
    CHECK(e.line == 1);
  }
  CHECK(parse("7f19cc040040 294 JS:+'tick [eval]:1:14").tier == '+');
  CHECK(parse("2d2c34e038e8 24 JS:~'quoted [eval]:1:14").name == "'quoted");  // only after '+' or '*'
}

TEST_CASE("perf map: V8 12's on-stack-replacement marker before the tier is not part of the name") {
  // Lines as node 26.12.1 writes them for a loop optimized while it runs (measured 2026-12-03).
  for (const char* line : {"7f19cc040040 294 JS:o*spin [eval]:1:14", "7f19cc003e00 1d4 JS:o+spin [eval]:1:14"}) {
    auto e = parse(line);
    CHECK(e.name == "spin");
    CHECK(e.file == "[eval]");
  }
  CHECK(parse("7f19cc040040 294 JS:o*spin [eval]:1:14").tier == '*');
  CHECK(parse("7f19cc040040 294 JS:~on [eval]:1:14").name == "on");  // a name that starts with 'o'
}

TEST_CASE("perf map: V8 10's tags (node 18, as distributions ship it) are JavaScript too") {
  // Lines as Debian 12's node 18.20.4 writes them (measured 2026-12-04): no "JS:", the tag says how
  // the code was compiled, and the location has no column.
  auto lazy = parse("7f721d0a2b40 2fc LazyCompile:*hashy /tmp/debnode/app.js:2");
  CHECK(lazy.kind == JitKind::kJs);
  CHECK(lazy.tier == '*');
  CHECK(lazy.name == "hashy");
  CHECK(lazy.file == "/tmp/debnode/app.js");
  CHECK(lazy.line == 2);
  auto anonymous = parse("7f721d0a2000 80 Function:^ /tmp/debnode/app.js:4");
  CHECK(anonymous.kind == JitKind::kJs);
  CHECK(anonymous.tier == '^');
  CHECK(anonymous.name == "(anonymous)");
  CHECK(anonymous.line == 4);
  auto script = parse("7f721d0a3000 40 Script:~ /tmp/debnode/app.js:1");
  CHECK(script.kind == JitKind::kJs);
  CHECK(script.file == "/tmp/debnode/app.js");
  auto eval = parse("7f721d0a4000 40 Eval:~ node:fs:1");
  CHECK(eval.kind == JitKind::kEval);
  CHECK(eval.file == "node:fs");
  CHECK(parse("7f721cedb940 c Builtin:GlobalEval").kind == JitKind::kBuiltin);
  // A function named like a tag keeps its name under "JS:".
  CHECK(parse("1000 10 JS:~Function: /x.js:1:1").name == "Function:");
}
