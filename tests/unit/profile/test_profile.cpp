// The small helpers on the format-neutral model: id lookups, labels, metadata, frame kinds.

// Designated initializers leave the remaining members value-initialised; GCC 12's
// -Wmissing-field-initializers still flags members without a default initializer.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <catch2/catch.hpp>

#include "loopperf/profile/profile.h"

using namespace loopperf::profile;

TEST_CASE("id lookups are index + 1 and reject 0 and out-of-range ids", "[profile]") {
  Profile p;
  p.mappings = {{.file = "a"}, {.file = "b"}};
  p.locations = {{.address = 1}};
  p.functions = {{.name = "f"}, {.name = "g"}, {.name = "h"}};
  CHECK(p.mapping(0) == nullptr);
  CHECK(p.mapping(1)->file == "a");
  CHECK(p.mapping(2)->file == "b");
  CHECK(p.mapping(3) == nullptr);
  CHECK(p.location(0) == nullptr);
  CHECK(p.location(1)->address == 1);
  CHECK(p.location(2) == nullptr);
  CHECK(p.function(3)->name == "h");
  CHECK(p.function(4) == nullptr);
  CHECK(p.function(~uint64_t{0}) == nullptr);
}

TEST_CASE("sample label helpers distinguish string and numeric labels", "[profile]") {
  Sample s;
  s.labels = {{.key = "thread", .str = "main"},
              {.key = "tid", .num = 42, .is_num = true},
              {.key = "both", .num = 7, .is_num = true},
              {.key = "both", .str = "later"}};
  CHECK(s.label("thread")->str == "main");
  CHECK(s.label("missing") == nullptr);
  CHECK(s.label("both")->is_num);  // first match wins
  CHECK(s.str_label("thread") == "main");
  CHECK(s.str_label("tid").empty());
  CHECK(s.str_label("missing").empty());
  CHECK(s.num_label("tid") == 42);
  CHECK_FALSE(s.num_label("thread").has_value());
  CHECK_FALSE(s.num_label("missing").has_value());
  // Kind-specific lookups skip labels of the other kind with the same key.
  CHECK(s.num_label("both") == 7);
  CHECK(s.str_label("both") == "later");
}

TEST_CASE("metadata: meta reads, set_meta replaces in place or appends", "[profile]") {
  Profile p;
  CHECK(p.meta("rate").empty());
  p.set_meta("rate", "99");
  p.set_meta("target", "node app.js");
  p.set_meta("rate", "250");
  CHECK(p.meta("rate") == "250");
  CHECK(p.meta("target") == "node app.js");
  REQUIRE(p.metadata.size() == 2);
  CHECK(p.metadata[0].first == "rate");  // order of first insertion is kept
}

TEST_CASE("value_index finds sample types by name", "[profile]") {
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  CHECK(p.value_index("samples") == 0u);
  CHECK(p.value_index("cpu") == 1u);
  CHECK_FALSE(p.value_index("wall").has_value());
}

TEST_CASE("frame_kind classifies frames from function and mapping", "[profile]") {
  Profile p;
  p.mappings = {{.file = "/usr/bin/node"}, {.file = "[kernel.kallsyms]"}, {.file = "[jit]"}};
  p.functions = {
      {.name = "authMiddleware", .system_name = "JS:*authMiddleware app.js:17:3"},  // 1
      {.name = "eval", .system_name = "Eval:~ app.js:1:1"},                         // 2
      {.name = "re", .system_name = "RegExp:[a-z]+"},                               // 3
      {.name = "ArrayMap", .system_name = "Builtin:ArrayMap"},                      // 4
      {.name = "Ldar", .system_name = "BytecodeHandler:Ldar"},                      // 5
      {.name = "Builtins_JSEntry", .system_name = "Builtins_JSEntry"},              // 6
      {.name = "v8::internal::Heap::CollectGarbage(...)",
       .system_name = "_ZN2v88internal4Heap14CollectGarbageE"},
      {.name = "v8::internal::ScavengerCollector::CollectGarbage()", .system_name = "x"},  // 8
      {.name = "v8::internal::MarkCompactCollector::Sweep()", .system_name = "x"},         // 9
      {.name = "node::fs::Read", .system_name = "_ZN4node2fs4ReadEv"},                     // 10
      {.name = "[unknown]", .system_name = ""},                                            // 11
      {.name = "do_syscall_64", .system_name = "do_syscall_64"},                           // 12
  };
  auto kind = [&](uint64_t mapping_id, uint64_t function_id) {
    Location loc{.mapping_id = mapping_id, .address = 0, .lines = {{.function_id = function_id}}};
    return frame_kind(p, loc, loc.lines[0]);
  };
  CHECK(kind(3, 1) == FrameKind::kJs);
  CHECK(kind(3, 2) == FrameKind::kJs);
  CHECK(kind(3, 3) == FrameKind::kJs);
  CHECK(kind(1, 4) == FrameKind::kV8Builtin);
  CHECK(kind(1, 5) == FrameKind::kV8Builtin);
  CHECK(kind(1, 6) == FrameKind::kV8Builtin);
  CHECK(kind(1, 7) == FrameKind::kGc);
  CHECK(kind(1, 8) == FrameKind::kGc);
  CHECK(kind(1, 9) == FrameKind::kGc);
  CHECK(kind(1, 10) == FrameKind::kNative);
  CHECK(kind(1, 11) == FrameKind::kUnknown);
  CHECK(kind(0, 0) == FrameKind::kUnknown);  // no function, no mapping
  CHECK(kind(2, 12) == FrameKind::kKernel);  // the mapping decides
  CHECK(kind(2, 0) == FrameKind::kKernel);
  CHECK(kind(0, 10) == FrameKind::kNative);   // unmapped but named
  CHECK(kind(99, 10) == FrameKind::kNative);  // dangling ids do not crash
  CHECK(kind(1, 99) == FrameKind::kUnknown);
}

TEST_CASE("frame_kind_name gives stable names", "[profile]") {
  CHECK(std::string(frame_kind_name(FrameKind::kJs)) == "js");
  CHECK(std::string(frame_kind_name(FrameKind::kNative)) == "native");
  CHECK(std::string(frame_kind_name(FrameKind::kKernel)) == "kernel");
  CHECK(std::string(frame_kind_name(FrameKind::kV8Builtin)) == "v8-builtin");
  CHECK(std::string(frame_kind_name(FrameKind::kGc)) == "gc");
  CHECK(std::string(frame_kind_name(FrameKind::kUnknown)) == "unknown");
}
