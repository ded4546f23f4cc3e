#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fixture_util.h"
#include "loopperf/symbols/elf_symbolizer.h"
#include "lp_skip.h"

using loopperf::symbols::demangle;
using loopperf::symbols::ElfFile;
using loopperf::symbols::ElfSymbol;

namespace {

std::unique_ptr<ElfFile> open_or_fail(const std::string& path) {
  auto r = ElfFile::open_path(path);
  INFO(path << ": " << (r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return std::move(r.value());
}

constexpr const char* kTemplatedRaw = "_ZN6symfix14templated_workIiEET_S1_";
constexpr const char* kSpinRaw = "_ZN6symfix6Widget4spinEl";

}  // namespace

TEST_CASE("demangle", "[elf]") {
  CHECK(demangle(kSpinRaw) == "symfix::Widget::spin(long)");
  CHECK(demangle(kTemplatedRaw) == "int symfix::templated_work<int>(int)");
  CHECK(demangle("uv_run") == "uv_run");
  CHECK(demangle("uv__async_io.part.0") == "uv__async_io.part.0");
  CHECK(demangle("_Znot_a_mangled_name!") == "_Znot_a_mangled_name!");
  CHECK(demangle("") == "");
  CHECK(demangle("_ZN6symfix6Widget4spinEl.cold").find("symfix::Widget::spin(long)") != std::string::npos);
}

TEST_CASE("ElfFile: fixture build id and plain C symbol", "[elf]") {
  auto elf = open_or_fail(fixture::kBinary);
  CHECK(elf->path() == fixture::kBinary);
  CHECK(elf->build_id() == fixture::kBuildId);
  CHECK(elf->has_symbols());
  CHECK(elf->has_line_info());

  uint64_t size = 0;
  uint64_t outer = elf->symbol_address("symfix_outer", &size);
  REQUIRE(outer != 0);
  CHECK(size > 0);
  ElfSymbol sym = elf->lookup(outer);
  REQUIRE(sym.found);
  CHECK(sym.symbol_start == outer);
  REQUIRE_FALSE(sym.frames.empty());
  CHECK(sym.frames.back().name == "symfix_outer");
  CHECK(sym.frames.back().system_name == "symfix_outer");
  // The last byte still belongs to it; the byte after does not (another symbol or nothing).
  ElfSymbol last = elf->lookup(outer + size - 1);
  REQUIRE(last.found);
  CHECK(last.frames.back().name == "symfix_outer");
  ElfSymbol after = elf->lookup(outer + size);
  CHECK((!after.found || after.frames.back().name != "symfix_outer"));

  CHECK(elf->symbol_address("no_such_symbol_anywhere") == 0);
  CHECK(elf->lookup(0).found == false);
  CHECK(elf->lookup(~uint64_t{0}).found == false);
}

TEST_CASE("ElfFile: demangled C++ names, raw name kept", "[elf]") {
  auto elf = open_or_fail(fixture::kBinary);
  uint64_t templated = elf->symbol_address(kTemplatedRaw);
  REQUIRE(templated != 0);
  ElfSymbol t = elf->lookup(templated + 1);
  REQUIRE(t.found);
  CHECK(t.symbol_start == templated);
  CHECK(t.frames.back().name == "int symfix::templated_work<int>(int)");
  CHECK(t.frames.back().system_name == kTemplatedRaw);

  uint64_t spin = elf->symbol_address(kSpinRaw);
  REQUIRE(spin != 0);
  ElfSymbol s = elf->lookup(spin);
  REQUIRE(s.found);
  CHECK(s.frames.back().name == "symfix::Widget::spin(long)");
  CHECK(fixture::ends_with(s.frames.back().file, "symfixture.cpp"));
  CHECK(s.frames.back().line > 0);
}

TEST_CASE("ElfFile: inlined static function is an inner frame with its own line", "[elf]") {
  auto elf = open_or_fail(fixture::kBinary);
  const int64_t helper_begin = fixture::marker_line("SYMFIX_HELPER_BEGIN");
  const int64_t helper_end = fixture::marker_line("SYMFIX_HELPER_END");
  const int64_t callsite = fixture::marker_line("SYMFIX_CALLSITE");
  REQUIRE(helper_begin > 0);
  REQUIRE(helper_end > helper_begin);
  REQUIRE(callsite > helper_end);

  uint64_t size = 0;
  uint64_t outer = elf->symbol_address("symfix_outer", &size);
  REQUIRE(outer != 0);
  // Some byte of symfix_outer is helper code: it must show the helper innermost, symfix_outer outside.
  bool saw_inlined = false;
  for (uint64_t a = outer; a < outer + size && !saw_inlined; ++a) {
    ElfSymbol sym = elf->lookup(a);
    REQUIRE(sym.found);
    CHECK(sym.frames.back().name == "symfix_outer");
    if (sym.frames.size() < 2 || sym.frames.front().name != "inlined_helper") continue;
    saw_inlined = true;
    INFO("address 0x" << std::hex << a);
    REQUIRE(sym.frames.size() == 2);
    const auto& inner = sym.frames.front();
    CHECK(fixture::ends_with(inner.file, "symfixture.cpp"));
    CHECK(inner.line >= helper_begin);
    CHECK(inner.line <= helper_end);
    CHECK(fixture::ends_with(sym.frames.back().file, "symfixture.cpp"));
    CHECK(sym.frames.back().line == callsite);  // the caller frame is at the call site
  }
  CHECK(saw_inlined);
}

TEST_CASE("ElfFile: shared library of the fixture", "[elf]") {
  auto lib = open_or_fail(fixture::kLibrary);
  CHECK(lib->build_id() == fixture::kLibBuildId);
  // Exported: found through .gnu.hash (no scan of the names), with its size.
  uint64_t size = 0;
  uint64_t fn = lib->symbol_address("symfix_lib_function", &size);
  REQUIRE(fn != 0);
  CHECK(size > 0);
  CHECK(lib->lookup(fn + size - 1).frames.back().name == "symfix_lib_function");
  CHECK(lib->symbol_address("symfix_lib_functio") == 0);  // a prefix is not the name
  ElfSymbol sym = lib->lookup(fn + 2);
  REQUIRE(sym.found);
  CHECK(sym.frames.back().name == "symfix_lib_function");
  CHECK(fixture::ends_with(sym.frames.back().file, "symfixture_lib.c"));
}

TEST_CASE("ElfFile: file_offset_to_vaddr follows PT_LOAD headers", "[elf]") {
  auto elf = open_or_fail(fixture::kBinary);
  // Read the program headers independently of libelf.
  std::ifstream in(fixture::kBinary, std::ios::binary);
  Elf64_Ehdr ehdr;
  REQUIRE(in.read(reinterpret_cast<char*>(&ehdr), sizeof ehdr));
  REQUIRE(std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) == 0);
  int loads = 0;
  for (int i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr;
    in.seekg(static_cast<std::streamoff>(ehdr.e_phoff + static_cast<uint64_t>(i) * ehdr.e_phentsize));
    REQUIRE(in.read(reinterpret_cast<char*>(&phdr), sizeof phdr));
    if (phdr.p_type != PT_LOAD || phdr.p_filesz == 0) continue;
    ++loads;
    CHECK(elf->file_offset_to_vaddr(phdr.p_offset) == phdr.p_vaddr);
    CHECK(elf->file_offset_to_vaddr(phdr.p_offset + phdr.p_filesz - 1) == phdr.p_vaddr + phdr.p_filesz - 1);
  }
  CHECK(loads >= 2);
}

TEST_CASE("ElfFile: open_fd works on a deleted file and keeps its own descriptor", "[elf]") {
  std::string copy = std::string(LOOPPERF_TEST_BUILD) + "/symfixture_deleted_copy";
  std::filesystem::copy_file(fixture::kBinary, copy, std::filesystem::copy_options::overwrite_existing);
  int fd = ::open(copy.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::unlink(copy.c_str());
  auto r = ElfFile::open_fd(fd, "/opt/gone/symfixture");
  ::close(fd);  // ElfFile has its own dup
  REQUIRE(r.ok());
  auto& elf = *r.value();
  CHECK(elf.path() == "/opt/gone/symfixture");
  CHECK(elf.build_id() == fixture::kBuildId);
  uint64_t outer = elf.symbol_address("symfix_outer");
  REQUIRE(outer != 0);
  CHECK(elf.lookup(outer).frames.back().name == "symfix_outer");
}

TEST_CASE("ElfFile: errors for missing and non-ELF files", "[elf]") {
  auto missing = ElfFile::open_path("/nonexistent/binary");
  REQUIRE_FALSE(missing.ok());
  CHECK_FALSE(missing.error().message.empty());
  auto text = ElfFile::open_path(fixture::kSource);
  REQUIRE_FALSE(text.ok());
  CHECK(text.error().code == loopperf::ErrorCode::kInput);
  auto bad_fd = ElfFile::open_fd(-1, "bad");
  CHECK_FALSE(bad_fd.ok());
}

TEST_CASE("ElfFile: truncated and garbage files never crash", "[elf]") {
  std::ifstream in(fixture::kBinary, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 4096);
  const std::string path = std::string(LOOPPERF_TEST_BUILD) + "/symfixture_damaged";
  for (size_t keep : {size_t{64}, size_t{1000}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 100}) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(keep));
    }
    auto r = ElfFile::open_path(path);
    if (!r.ok()) continue;  // refusing is fine; crashing is not
    r.value()->symbol_address("symfix_outer");
    r.value()->has_line_info();
    for (uint64_t a = 0; a < 0x4000; a += 0x40) r.value()->lookup(a);
  }
  {
    std::string garbage = bytes.substr(0, 64);  // a valid ELF header ...
    for (size_t i = 64; i < 8192; ++i)
      garbage.push_back(static_cast<char>((i * 131) ^ 0x5a));  // ... then noise
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << garbage;
  }
  auto r = ElfFile::open_path(path);
  if (r.ok()) {
    r.value()->symbol_address("x");
    for (uint64_t a = 0; a < 0x4000; a += 0x40) r.value()->lookup(a);
  }
  std::remove(path.c_str());
}

TEST_CASE("ElfFile: /usr/bin/node symbols, timings", "[elf][node]") {
  const std::string node = "/usr/bin/node";
  if (::access(node.c_str(), R_OK) != 0) LP_SKIP("no " << node);
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto elf = open_or_fail(node);
  uint64_t uv_run = elf->symbol_address("uv_run");
  REQUIRE(uv_run != 0);
  ElfSymbol first = elf->lookup(uv_run + 4);
  auto t1 = Clock::now();
  REQUIRE(first.found);
  CHECK(first.symbol_start == uv_run);
  CHECK(first.frames.back().name == "uv_run");
  if (elf->has_line_info()) CHECK(fixture::ends_with(first.frames.back().file, "core.c"));
  CHECK(elf->build_id().size() == 40);

  uint64_t part = elf->symbol_address("uv__async_io.part.0");
  if (part != 0) CHECK(elf->lookup(part + 1).frames.back().name == "uv__async_io.part.0");
  CHECK(elf->symbol_address("uv__io_poll") != 0);

  // 10,000 lookups spread over 16 MB of text around uv_run (V8, libuv, node code alike).
  int found = 0;
  auto t2 = Clock::now();
  for (uint64_t i = 0; i < 10000; ++i) {
    uint64_t addr = uv_run - (8 << 20) + i * 1677;
    found += elf->lookup(addr).found ? 1 : 0;
  }
  auto t3 = Clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  WARN("/usr/bin/node: open_path + symbol_address + first lookup "
       << ms(t1 - t0) << " ms; 10,000 lookups " << ms(t3 - t2) << " ms (" << found << " found)");
  CHECK(found > 5000);
#if defined(__SANITIZE_ADDRESS__)
  const double budget_ms = 5000;
#else
  const double budget_ms = 1000;
#endif
  CHECK(ms(t1 - t0) < budget_ms);
  CHECK(ms(t3 - t2) < budget_ms);
}
