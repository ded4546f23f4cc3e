// write_pprof / read_pprof: atomic files and errors that name the path.

// Designated initializers leave the remaining members value-initialised; GCC 12's
// -Wmissing-field-initializers still flags members without a default initializer.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "loopperf/formats/pprof.h"
#include "sample_profiles.h"

using namespace loopperf;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "loopperf-pprof-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace

TEST_CASE("write_pprof then read_pprof round-trips", "[pprof][file]") {
  TempDir dir;
  std::string path = (dir.path / "profile.pb.gz").string();
  auto p = test::rich_profile();
  REQUIRE(formats::write_pprof(p, path).ok());
  auto back = formats::read_pprof(path);
  REQUIRE(back.ok());
  test::require_same(p, *back);
  // Overwriting works and leaves no temporary files behind.
  p.set_meta("lost", "12");
  REQUIRE(formats::write_pprof(p, path).ok());
  CHECK(formats::read_pprof(path)->meta("lost") == "12");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) files++;
  CHECK(files == 1);
}

TEST_CASE("read_pprof errors name the path", "[pprof][file]") {
  TempDir dir;
  SECTION("missing file") {
    std::string path = (dir.path / "nope.pb.gz").string();
    auto r = formats::read_pprof(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInput);
    CHECK_THAT(r.error().message, Catch::StartsWith("cannot read " + path + ": No such file"));
  }
  SECTION("a directory") {
    auto r = formats::read_pprof(dir.path.string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInput);
    CHECK_THAT(r.error().message, Catch::Contains(dir.path.string()));
  }
  SECTION("not a profile") {
    std::string path = (dir.path / "notes.txt").string();
    write_bytes(path, "just some text\n");
    auto r = formats::read_pprof(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kInput);
    CHECK_THAT(r.error().message, Catch::StartsWith(path + ": "));
    CHECK_THAT(r.error().hint, Catch::Contains("is this a pprof file?"));
  }
  SECTION("empty file") {
    std::string path = (dir.path / "empty.pb.gz").string();
    write_bytes(path, "");
    auto r = formats::read_pprof(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("empty"));
  }
}

TEST_CASE("write_pprof into a missing directory is an output error", "[pprof][file]") {
  TempDir dir;
  std::string path = (dir.path / "no-such-dir" / "p.pb.gz").string();
  auto st = formats::write_pprof(test::rich_profile(), path);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == ErrorCode::kOutput);
}
