// The position table decoders and line lookup, on tables taken from real node processes.
#include <catch2/catch.hpp>
#include <vector>

#include "../../../src/v8/source_positions.h"

using loopperf::v8::decode_position_table;
using loopperf::v8::LineEnds;
using loopperf::v8::position_at;
using loopperf::v8::PositionEntry;

namespace {
// `function middle(n) {\n  return leaf(n);\n}` (bytecode of 8 bytes) on node 24 (V8 13.6) and on
// node 26 (V8 14.6): the same four entries, coded two ways.
const std::vector<uint8_t> kMiddle13 = {0x01, 0xb4, 0x05, 0x02, 0x20, 0x07, 0x1c, 0x08, 0x20};
const std::vector<uint8_t> kMiddle14 = {0x02, 0xb4, 0x05, 0x07, 0x20, 0x0e, 0x1c, 0x13, 0x20};
}  // namespace

TEST_CASE("decode_position_table: both code offset formats", "[v8][source_positions]") {
  for (auto [bytes, format] : {std::pair{kMiddle13, 1}, std::pair{kMiddle14, 2}}) {
    auto table = decode_position_table(bytes.data(), bytes.size(), format, 8);
    REQUIRE(table.has_value());
    REQUIRE(table->size() == 4);
    const int want[4][2] = {{-1, 172}, {0, 180}, {3, 187}, {7, 195}};
    for (int i = 0; i < 4; ++i) {
      CHECK((*table)[i].code_offset == want[i][0]);
      CHECK((*table)[i].script_offset == want[i][1]);
    }
    // The call at offset 3 and what follows it, up to the return at 7.
    CHECK(position_at(*table, 3) == 187);
    CHECK(position_at(*table, 6) == 187);
    CHECK(position_at(*table, 7) == 195);
    CHECK(position_at(*table, -2) == -1);
  }
}

TEST_CASE("decode_position_table: the wrong format or code size is refused", "[v8][source_positions]") {
  // Read with V8 13's rules, V8 14's table runs past the code (offsets 10 and 19 in 8 bytes).
  CHECK_FALSE(decode_position_table(kMiddle14.data(), kMiddle14.size(), 1, 8).has_value());
  // A truncated VLQ, a table longer than its code.
  const std::vector<uint8_t> cut = {0x01, 0xb4};
  CHECK_FALSE(decode_position_table(cut.data(), cut.size(), 1, 8).has_value());
  CHECK_FALSE(decode_position_table(kMiddle13.data(), kMiddle13.size(), 1, 7).has_value());
  // An empty table is a table with no positions.
  auto empty = decode_position_table(nullptr, 0, 1, 8);
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("LineEnds::locate: lines and columns as V8 counts them", "[v8][source_positions]") {
  // "ab\ncd\r\nef": line ends at 2 and 6 (the \n of \r\n), then one past the end (9).
  LineEnds ends{{2, 6, 9}};
  int line = -1, column = -1;
  REQUIRE(ends.locate(0, line, column));
  CHECK((line == 0 && column == 0));
  REQUIRE(ends.locate(2, line, column));  // the terminator belongs to its line
  CHECK((line == 0 && column == 2));
  REQUIRE(ends.locate(3, line, column));
  CHECK((line == 1 && column == 0));
  REQUIRE(ends.locate(7, line, column));
  CHECK((line == 2 && column == 0));
  REQUIRE(ends.locate(9, line, column));
  CHECK(line == 2);
  CHECK_FALSE(ends.locate(10, line, column));
  CHECK_FALSE(ends.locate(-1, line, column));
  CHECK_FALSE(LineEnds{}.locate(0, line, column));
}

TEST_CASE("decode_position_table: optimized code's inlining ids", "[v8][source_positions]") {
  // Format 1, hand-coded: code offset 5 at script offset 100 in inlining id 2 (InliningPositions[1]),
  // then code offset 8 at script offset 50 in the code's own function.
  const std::vector<uint8_t> bytes = {0x0c, 0x94, 0x83, 0x80, 0x80, 0x20, 0x06, 0xc7, 0x81, 0x80, 0x80, 0x20};
  auto table = decode_position_table(bytes.data(), bytes.size(), 1, 16);
  REQUIRE(table.has_value());
  REQUIRE(table->size() == 2);
  CHECK((*table)[0].code_offset == 5);
  CHECK((*table)[0].script_offset == 100);
  CHECK((*table)[0].inlining_id == 2);
  CHECK((*table)[1].code_offset == 8);
  CHECK((*table)[1].script_offset == 50);
  CHECK((*table)[1].inlining_id == 0);
}
