// Shared fixtures for the pprof tests: a profile that uses every feature of the model, and a
// field-by-field comparison (the model has no operator==).
#pragma once

#include <catch2/catch.hpp>

#include "loopperf/profile/profile.h"

namespace loopperf::test {

inline profile::Profile rich_profile() {
  using namespace loopperf::profile;
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.period_type = {"cpu", "nanoseconds"};
  p.period = 10'000'000;
  p.time_nanos = 1'700'000'000'123'456'789;
  p.duration_nanos = 5'000'000'000;
  p.default_sample_type = "cpu";
  p.mappings = {
      {.start = 0x400000,
       .limit = 0x2800000,
       .offset = 0,
       .file = "/usr/bin/node",
       .build_id = "9f1c2e",
       .has_functions = true},
      {.start = 0x7f0000000000,
       .limit = 0x7f0000100000,
       .offset = 0x1000,
       .file = "[jit]",
       .has_functions = true,
       .has_filenames = true,
       .has_line_numbers = true},
      {.start = 0xffffffff81000000, .limit = 0xffffffff82000000, .file = "[kernel.kallsyms]"},
  };
  p.functions = {
      {.name = "main", .system_name = "main"},
      {.name = "node::fs::Read",
       .system_name = "_ZN4node2fs4ReadEv",
       .file = "../src/node_file.cc",
       .start_line = 120},
      {.name = "authMiddleware",
       .system_name = "JS:*authMiddleware app.js:17:3",
       .file = "/srv/app.js",
       .start_line = 17},
      {.name = "uv__read", .system_name = "uv__read", .file = "src/unix/stream.c", .start_line = 1100},
      {.name = "do_syscall_64", .system_name = "do_syscall_64"},
  };
  p.locations = {
      {.mapping_id = 1, .address = 0x401000, .lines = {{.function_id = 1, .line = 10}}},
      // Inlined: uv__read inlined into node::fs::Read; innermost first.
      {.mapping_id = 1,
       .address = 0x402000,
       .lines = {{.function_id = 4, .line = 1130}, {.function_id = 2, .line = 131}}},
      {.mapping_id = 2, .address = 0x7f0000000abc, .lines = {{.function_id = 3, .line = 18}}},
      {.mapping_id = 3, .address = 0xffffffff81001234, .lines = {{.function_id = 5}}},
      {.mapping_id = 0, .address = 0xdead},  // unsymbolized, unmapped
  };
  p.samples = {
      {.location_ids = {3, 2, 1},
       .values = {1, 10'000'000},
       .labels = {{.key = "thread", .str = "main"}, {.key = "tid", .num = 4242, .is_num = true}}},
      {.location_ids = {4, 2, 1},
       .values = {2, 20'000'000},
       .labels = {{.key = "thread", .str = "libuv-worker"},
                  {.key = "bytes", .num = 4096, .num_unit = "bytes", .is_num = true},
                  {.key = "delta", .num = -7, .is_num = true}}},
      {.location_ids = {5}, .values = {3, -1}},
      {.location_ids = {}, .values = {0, 0}},
  };
  p.comments = {"recorded by a test", "main", "loopperf: not metadata, no equals sign"};
  p.metadata = {{"target", "node app.js --port=8080"}, {"node_version", "v20.11.1"}, {"lost", "0"}};
  return p;
}

inline void require_same(const profile::Profile& a, const profile::Profile& b) {
  REQUIRE(a.sample_types == b.sample_types);
  REQUIRE(a.period_type == b.period_type);
  REQUIRE(a.period == b.period);
  REQUIRE(a.time_nanos == b.time_nanos);
  REQUIRE(a.duration_nanos == b.duration_nanos);
  REQUIRE(a.default_sample_type == b.default_sample_type);
  REQUIRE(a.mappings.size() == b.mappings.size());
  for (size_t i = 0; i < a.mappings.size(); i++) {
    INFO("mapping " << i + 1);
    const auto &x = a.mappings[i], &y = b.mappings[i];
    REQUIRE(x.start == y.start);
    REQUIRE(x.limit == y.limit);
    REQUIRE(x.offset == y.offset);
    REQUIRE(x.file == y.file);
    REQUIRE(x.build_id == y.build_id);
    REQUIRE(x.has_functions == y.has_functions);
    REQUIRE(x.has_filenames == y.has_filenames);
    REQUIRE(x.has_line_numbers == y.has_line_numbers);
  }
  REQUIRE(a.functions.size() == b.functions.size());
  for (size_t i = 0; i < a.functions.size(); i++) {
    INFO("function " << i + 1);
    const auto &x = a.functions[i], &y = b.functions[i];
    REQUIRE(x.name == y.name);
    REQUIRE(x.system_name == y.system_name);
    REQUIRE(x.file == y.file);
    REQUIRE(x.start_line == y.start_line);
  }
  REQUIRE(a.locations.size() == b.locations.size());
  for (size_t i = 0; i < a.locations.size(); i++) {
    INFO("location " << i + 1);
    const auto &x = a.locations[i], &y = b.locations[i];
    REQUIRE(x.mapping_id == y.mapping_id);
    REQUIRE(x.address == y.address);
    REQUIRE(x.lines.size() == y.lines.size());
    for (size_t k = 0; k < x.lines.size(); k++) {
      REQUIRE(x.lines[k].function_id == y.lines[k].function_id);
      REQUIRE(x.lines[k].line == y.lines[k].line);
      REQUIRE(x.lines[k].column == y.lines[k].column);
    }
  }
  REQUIRE(a.samples.size() == b.samples.size());
  for (size_t i = 0; i < a.samples.size(); i++) {
    INFO("sample " << i);
    const auto &x = a.samples[i], &y = b.samples[i];
    REQUIRE(std::ranges::equal(x.location_ids, y.location_ids));
    REQUIRE(std::ranges::equal(x.values, y.values));
    REQUIRE(x.labels.size() == y.labels.size());
    for (size_t k = 0; k < x.labels.size(); k++) {
      INFO("label " << x.labels[k].key);
      REQUIRE(x.labels[k].key == y.labels[k].key);
      REQUIRE(x.labels[k].is_num == y.labels[k].is_num);
      REQUIRE(x.labels[k].str == y.labels[k].str);
      REQUIRE(x.labels[k].num == y.labels[k].num);
      REQUIRE(x.labels[k].num_unit == y.labels[k].num_unit);
    }
  }
  REQUIRE(a.comments == b.comments);
  REQUIRE(a.metadata == b.metadata);
}

}  // namespace loopperf::test
