#include <unistd.h>

#include <catch2/catch.hpp>

#include "loopperf/process/maps.h"

using loopperf::process::find_map;
using loopperf::process::MapEntry;
using loopperf::process::parse_maps;
using loopperf::process::read_maps;

namespace {

const char* kSample =
    "00400000-00b6f000 r--p 00000000 fd:01 1234567                            /usr/bin/node\n"
    "00b6f000-025fe000 r-xp 0076f000 fd:01 1234567                            /usr/bin/node\n"
    "0565c000-05689000 rw-p 00000000 00:00 0                                  [heap]\n"
    "1aea2b000000-1aea2b040000 rwxp 00000000 00:00 0 \n"
    "7f0000000000-7f0000001000 r-xp 00000000 00:00 0                          [anon:v8 code]\n"
    "7f1000000000-7f1000100000 r-xp 00002000 08:02 99                         /opt/app/lib with space.so "
    "(deleted)\n"
    "this is not a maps line\n"
    "7f2000000000-7f1000000000 r-xp 00000000 00:00 0                          [backwards]\n"
    "7ffd12340000-7ffd12342000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";  // no final
                                                                                            // newline

}  // namespace

TEST_CASE("parse_maps reads fields, perms and paths", "[maps]") {
  auto maps = parse_maps(kSample);
  REQUIRE(maps.size() == 8);  // the garbage line and the end<start line are skipped

  const MapEntry& text = maps[1];
  CHECK(text.start == 0xb6f000);
  CHECK(text.end == 0x25fe000);
  CHECK(text.offset == 0x76f000);
  CHECK(text.readable);
  CHECK_FALSE(text.writable);
  CHECK(text.executable);
  CHECK(text.is_private);
  CHECK(text.dev == "fd:01");
  CHECK(text.inode == 1234567);
  CHECK(text.path == "/usr/bin/node");
  CHECK(text.is_file_backed());
  CHECK_FALSE(text.is_deleted());

  CHECK(maps[2].path == "[heap]");
  CHECK_FALSE(maps[2].is_file_backed());
  CHECK(maps[2].writable);
}

TEST_CASE("parse_maps handles anonymous, named anonymous, deleted, vdso", "[maps]") {
  auto maps = parse_maps(kSample);
  REQUIRE(maps.size() == 8);

  const MapEntry& anon = maps[3];
  CHECK(anon.path.empty());  // trailing blank after the inode is not a path
  CHECK(anon.executable);
  CHECK_FALSE(anon.is_file_backed());

  CHECK(maps[4].path == "[anon:v8 code]");
  CHECK_FALSE(maps[4].is_file_backed());

  const MapEntry& deleted = maps[5];
  CHECK(deleted.path == "/opt/app/lib with space.so (deleted)");
  CHECK(deleted.is_deleted());
  CHECK(deleted.clean_path() == "/opt/app/lib with space.so");
  CHECK(deleted.is_file_backed());
  CHECK(deleted.offset == 0x2000);

  CHECK(maps[6].path == "[vdso]");
  CHECK(maps[7].path == "[vsyscall]");
  CHECK(maps[7].start == 0xffffffffff600000ULL);
  CHECK_FALSE(maps[7].readable);
}

TEST_CASE("parse_maps skips malformed lines without failing", "[maps]") {
  CHECK(parse_maps("").empty());
  CHECK(parse_maps("\n\n").empty());
  CHECK(parse_maps("zzzz-0010 r-xp 0 fd:01 1 /x\n").empty());
  CHECK(parse_maps("1000-2000 r-x 0 fd:01 1 /x\n").empty());             // perms too short
  CHECK(parse_maps("1000-2000 r-xp 0 fd01 1 /x\n").empty());             // dev without colon
  CHECK(parse_maps("1000-2000 r-xp 0 fd:01 abc /x\n").empty());          // inode not decimal
  CHECK(parse_maps("1000-2000 r-xp\n").empty());                         // truncated
  CHECK(parse_maps("12345678901234567-2 r-xp 0 fd:01 1 /x\n").empty());  // too many hex digits
  std::string garbage("\x01\xff\x00\x7f binary", 11);
  CHECK(parse_maps(garbage).empty());
  auto maps = parse_maps("garbage\n1000-2000 r-xp 00000000 fd:01 7 /bin/x\r\n");
  REQUIRE(maps.size() == 1);
  CHECK(maps[0].path == "/bin/x");
}

TEST_CASE("find_map binary-searches half-open ranges", "[maps]") {
  auto maps = parse_maps(kSample);
  REQUIRE(maps.size() == 8);
  CHECK(find_map(maps, 0x3fffff) == nullptr);
  CHECK(find_map(maps, 0x400000) == &maps[0]);
  CHECK(find_map(maps, 0xb6efff) == &maps[0]);
  CHECK(find_map(maps, 0xb6f000) == &maps[1]);  // end is exclusive
  CHECK(find_map(maps, 0x25fdfff) == &maps[1]);
  CHECK(find_map(maps, 0x25fe000) == nullptr);  // gap
  CHECK(find_map(maps, 0x7ffd12341234) == &maps[6]);
  CHECK(find_map(maps, 0xffffffffff600fffULL) == &maps[7]);
  CHECK(find_map(maps, 0xffffffffffffffffULL) == nullptr);
  CHECK(find_map({}, 0x1000) == nullptr);
}

TEST_CASE("parse_maps sorts out-of-order input", "[maps]") {
  auto maps = parse_maps(
      "3000-4000 r-xp 00000000 00:00 0 \n"
      "1000-2000 r-xp 00000000 00:00 0 \n");
  REQUIRE(maps.size() == 2);
  CHECK(maps[0].start == 0x1000);
  CHECK(find_map(maps, 0x1800) == &maps[0]);
  CHECK(find_map(maps, 0x3800) == &maps[1]);
}

TEST_CASE("read_maps of this process finds our own code", "[maps]") {
  auto maps = read_maps(getpid());
  REQUIRE(maps.ok());
  REQUIRE_FALSE(maps->empty());
  auto here = reinterpret_cast<uint64_t>(&parse_maps);
  const MapEntry* m = find_map(*maps, here);
  REQUIRE(m != nullptr);
  CHECK(m->executable);
  CHECK(m->is_file_backed());
  bool has_vdso = false;
  for (const auto& e : *maps) has_vdso |= e.path == "[vdso]";
  CHECK(has_vdso);
}

TEST_CASE("read_maps of a missing process is an error", "[maps]") {
  // pid_max is at most 4194304, so this pid cannot exist.
  auto maps = read_maps(99999999);
  REQUIRE_FALSE(maps.ok());
  CHECK(maps.error().code == loopperf::ErrorCode::kNoProcess);
}
