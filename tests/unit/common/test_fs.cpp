#include <catch2/catch.hpp>
#include <filesystem>

#include "loopperf/common/fs.h"

using namespace loopperf;

TEST_CASE("write_file_atomic writes the whole file and leaves no temporary behind") {
  auto dir = std::filesystem::temp_directory_path() / ("lp-fs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "out.pb.gz").string();
  std::string data(100000, 'x');
  REQUIRE(write_file_atomic(path, data).ok());
  CHECK(read_small_file(path).value() == data);
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, files++;
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("unwritable output is reported before any work") {
  auto r = check_output_writable("/nonexistent-dir/x.pb.gz");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kOutput);
  CHECK(r.error().message.find("does not exist") != std::string::npos);
  CHECK_FALSE(check_output_writable("/tmp").ok());  // a directory, not a file
  CHECK_FALSE(write_file_atomic("/nonexistent-dir/x.pb.gz", "x").ok());
}
