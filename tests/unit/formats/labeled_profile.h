// A small profile shaped like one loopperf records: labelled samples on a main loop thread, a worker
// loop and a libuv pool thread, JS / native / kernel / GC frames and one inlined location. Shared by
// the tests of the writers and the filter.
#pragma once

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <string>
#include <vector>

#include "loopperf/profile/profile.h"

namespace loopperf::test {

inline profile::Label str_label(std::string key, std::string value) {
  return profile::Label{.key = std::move(key), .str = std::move(value)};
}
inline profile::Label num_label(std::string key, int64_t value) {
  return profile::Label{.key = std::move(key), .num = value, .is_num = true};
}

// Thread labels as loopperf writes them.
inline std::vector<profile::Label> thread_labels(int64_t tid, const std::string& role, const std::string& phase,
                                                 const std::string& activity) {
  return {str_label("thread", tid == 100 ? "node" : "worker"), num_label("tid", tid), str_label("role", role),
          str_label("phase", phase), str_label("activity", activity)};
}

inline profile::Profile labeled_profile() {
  using namespace loopperf::profile;
  Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  p.period_type = {"cpu", "nanoseconds"};
  p.period = 1'000'000;
  p.time_nanos = 1'700'000'000'000'000'000;
  p.duration_nanos = 2'000'000'000;
  p.default_sample_type = "cpu";
  p.mappings = {
      {.start = 0x400000, .limit = 0x2800000, .file = "/usr/bin/node", .has_functions = true},
      {.start = 0x7f0000000000, .limit = 0x7f0000100000, .file = "[jit]", .has_functions = true},
      {.start = 0xffffffff81000000, .limit = 0xffffffff82000000, .file = "[kernel.kallsyms]"},
  };
  p.functions = {
      {.name = "uv_run", .system_name = "uv_run", .file = "../deps/uv/src/unix/core.c"},              // 1
      {.name = "authMiddleware", .system_name = "JS:*authMiddleware /srv/app.js:17:3", .file = "/srv/app.js"},  // 2
      {.name = "JSON.parse; really", .system_name = "JS:~JSON.parse /srv/lib.js:5:1", .file = "/srv/lib.js"},  // 3
      {.name = "uv__io_poll", .system_name = "uv__io_poll", .file = "../deps/uv/src/unix/linux.c"},  // 4
      {.name = "do_syscall_64", .system_name = "do_syscall_64"},                                     // 5
      {.name = "v8::internal::Heap::CollectGarbage", .system_name = "_ZN2v88internal4Heap14CollectGarbageEv"},  // 6
      {.name = "uv__work_done", .system_name = "uv__work_done", .file = "../deps/uv/src/threadpool.c"},  // 7
      {.name = "authMiddleware", .system_name = "JS:^authMiddleware /srv/app.js:17:3", .file = "/srv/app.js"},  // 8: other tier
  };
  p.locations = {
      {.mapping_id = 1, .address = 0x401000, .lines = {{.function_id = 1, .line = 400}}},                // 1 uv_run
      {.mapping_id = 2, .address = 0x7f0000000100, .lines = {{.function_id = 2, .line = 17, .column = 3}}},  // 2
      {.mapping_id = 2, .address = 0x7f0000000200, .lines = {{.function_id = 3, .line = 5, .column = 1}}},   // 3
      // uv__io_poll inlined into uv_run: innermost first.
      {.mapping_id = 1, .address = 0x402000, .lines = {{.function_id = 4, .line = 1300}, {.function_id = 1, .line = 420}}},  // 4
      {.mapping_id = 3, .address = 0xffffffff81001234, .lines = {{.function_id = 5}}},                   // 5 kernel
      {.mapping_id = 1, .address = 0x403000, .lines = {{.function_id = 6, .line = 10}}},                 // 6 GC
      {.mapping_id = 1, .address = 0x404000, .lines = {{.function_id = 7, .line = 20}}},                 // 7
      {.mapping_id = 2, .address = 0x7f0000000300, .lines = {{.function_id = 8, .line = 17, .column = 3}}},  // 8
      {.mapping_id = 0, .address = 0xdead},                                                            // 9 bare
  };
  p.samples = {
      // The worker comes first on purpose: writers must still put the main loop first.
      {.location_ids = {2, 1}, .values = {4, 4'000'000}, .labels = thread_labels(200, "worker-loop", "check", "js")},
      {.location_ids = {3, 2, 1}, .values = {3, 3'000'000}, .labels = thread_labels(100, "main-loop", "timers", "js")},
      {.location_ids = {2, 1}, .values = {5, 5'000'000}, .labels = thread_labels(100, "main-loop", "timers", "js")},
      {.location_ids = {8, 1}, .values = {1, 1'000'000}, .labels = thread_labels(100, "main-loop", "timers", "js")},
      {.location_ids = {5, 4}, .values = {2, 2'000'000}, .labels = thread_labels(100, "main-loop", "poll", "idle-wait")},
      {.location_ids = {6, 2, 1}, .values = {1, 1'000'000}, .labels = thread_labels(100, "main-loop", "timers", "gc")},
      {.location_ids = {9, 7}, .values = {2, 2'000'000}, .labels = thread_labels(300, "libuv-pool", "outside-loop", "native")},
      {.location_ids = {2, 1}, .values = {0, 0}, .labels = thread_labels(100, "main-loop", "timers", "js")},  // weightless
  };
  p.samples.edit(0, [](Sample& s) { s.labels.push_back(num_label("request_bytes", 512)); });  // a label loopperf does not know
  p.metadata = {{"target.cmdline", "node /srv/app.js --port=8080"}, {"tool", "loopperf test"}};
  return p;
}

}  // namespace loopperf::test
