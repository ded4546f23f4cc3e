// The thread selector of `report --thread` and `convert --thread`: every documented form.
#include <catch2/catch.hpp>

#include "loopperf/profile/labels.h"
#include "loopperf/profile/thread_selector.h"

using loopperf::profile::thread_selector_matches;
using loopperf::profile::ThreadIdentity;

namespace {
const ThreadIdentity kMain{.tid = 4242, .name = "node", .role = "main-loop"};
const ThreadIdentity kWorker{.tid = 4250, .name = "node", .role = "worker-loop"};
const ThreadIdentity kPool{.tid = 4243, .name = "libuv-worker", .role = "libuv-pool"};
const ThreadIdentity kPlatform{.tid = 4244, .name = "node", .role = "v8-platform"};
const ThreadIdentity kUnlabelled{.tid = std::nullopt, .name = "", .role = ""};
}  // namespace

TEST_CASE("thread selector: an empty selector takes every thread") {
  CHECK(thread_selector_matches("", kMain));
  CHECK(thread_selector_matches("", kUnlabelled));
}

TEST_CASE("thread selector: a tid, a name, or name (tid) as the writers print it") {
  CHECK(thread_selector_matches("4242", kMain));
  CHECK_FALSE(thread_selector_matches("4242", kWorker));
  CHECK(thread_selector_matches("node", kMain));
  CHECK(thread_selector_matches("node", kWorker));
  CHECK_FALSE(thread_selector_matches("node", kPool));
  CHECK(thread_selector_matches("node (4242)", kMain));
  CHECK_FALSE(thread_selector_matches("node (4242)", kWorker));
  CHECK(thread_selector_matches("libuv-worker (4243)", kPool));
  CHECK_FALSE(thread_selector_matches("4242", kUnlabelled));  // no tid label: no tid to match
}

TEST_CASE("thread selector: a role, or main / worker / workers / pool / loop") {
  CHECK(thread_selector_matches("main-loop", kMain));
  CHECK(thread_selector_matches("v8-platform", kPlatform));
  CHECK_FALSE(thread_selector_matches("v8-platform", kMain));
  CHECK(thread_selector_matches("main", kMain));
  CHECK_FALSE(thread_selector_matches("main", kWorker));
  CHECK(thread_selector_matches("worker", kWorker));
  CHECK(thread_selector_matches("workers", kWorker));
  CHECK_FALSE(thread_selector_matches("worker", kPool));  // a pool thread is not a worker loop
  CHECK(thread_selector_matches("pool", kPool));
  CHECK_FALSE(thread_selector_matches("pool", kMain));
  CHECK(thread_selector_matches("loop", kMain));
  CHECK(thread_selector_matches("loop", kWorker));
  CHECK_FALSE(thread_selector_matches("loop", kPool));
  CHECK_FALSE(thread_selector_matches("main", kUnlabelled));
}

TEST_CASE("thread selector: the short names are reserved, a thread named like one is not taken by it") {
  const ThreadIdentity named_worker{.tid = 7, .name = "worker", .role = "libuv-pool"};
  CHECK_FALSE(thread_selector_matches("worker", named_worker));
  CHECK(thread_selector_matches("pool", named_worker));
  CHECK(thread_selector_matches("worker (7)", named_worker));
}

TEST_CASE("is_loop_role: the main loop and worker loops only") {
  using namespace loopperf::profile;
  CHECK(is_loop_role(kMainLoopRole));
  CHECK(is_loop_role(kWorkerLoopRole));
  CHECK_FALSE(is_loop_role(kLibuvPoolRole));
  CHECK_FALSE(is_loop_role(kV8PlatformRole));
  CHECK_FALSE(is_loop_role(kOtherRole));
  CHECK_FALSE(is_loop_role(""));
}
