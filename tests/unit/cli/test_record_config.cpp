#include <catch2/catch.hpp>

#include "loopperf/process/launch.h"
#include "record_config.h"

using namespace loopperf;
using namespace std::chrono_literals;

TEST_CASE("record options become a plain config") {
  cli::RecordArgs a;
  a.pid = "4242";
  a.duration = "10s";
  a.output = "slow.pb.gz";
  a.frequency = "99";
  auto cfg = cli::make_record_config(a, 1);
  REQUIRE(cfg.ok());
  CHECK(cfg->pid == 4242);
  CHECK(*cfg->duration == 10s);
  CHECK(cfg->sampling.frequency_hz == 99);
  CHECK(cfg->output == "slow.pb.gz");
}

TEST_CASE("record refuses nonsense with usage errors") {
  auto bad = [](cli::RecordArgs a) {
    auto cfg = cli::make_record_config(a, 555);
    REQUIRE_FALSE(cfg.ok());
    CHECK(cfg.error().code == ErrorCode::kUsage);
    CHECK_FALSE(cfg.error().hint.empty());
  };
  bad({});                                    // no target
  cli::RecordArgs a;
  a.pid = "abc";
  bad(a);
  a.pid = "-3";
  bad(a);
  a.pid = "555";  // loopperf itself
  bad(a);
  a.pid = "12";
  a.frequency = "0";
  bad(a);
  a.frequency = "1000000";
  bad(a);
  a.frequency = "";
  a.duration = "-1s";
  bad(a);
  a.duration = "";
  a.command = {"node", "x.js"};  // both -p and a command
  bad(a);
}

TEST_CASE("launch mode puts perf-map flags on node's command line and logs in a private dir") {
  process::LaunchOptions o;
  o.argv = {"node", "app.js", "--iterations", "100"};
  o.v8_log_dir = "/tmp/lp-x";
  auto plan = process::plan_launch(o, nullptr);
  CHECK(plan.argv_is_node);
  CHECK(plan.node_options.empty());
  REQUIRE(plan.argv.size() == 8);
  CHECK(plan.argv[1] == "--perf-basic-prof");
  CHECK(plan.argv[3] == "--logfile=/tmp/lp-x/v8.log");
  CHECK(plan.argv[5] == "app.js");
  CHECK(plan.argv[7] == "100");
}

TEST_CASE("launch mode reaches node behind a wrapper through NODE_OPTIONS, keeping the user's") {
  process::LaunchOptions o;
  o.argv = {"npm", "start"};
  auto plan = process::plan_launch(o, "--max-old-space-size=4096");
  CHECK_FALSE(plan.argv_is_node);
  CHECK(plan.argv == o.argv);
  CHECK(plan.node_options == "--max-old-space-size=4096 --perf-basic-prof --interpreted-frames-native-stack");
  o.perf_map = false;
  CHECK(process::plan_launch(o, nullptr).node_options.empty());
}

TEST_CASE("record --js-names picks the sources, the stack copy and the perf map of launch mode") {
  auto config = [](const std::string& js, const std::string& stack = "") {
    cli::RecordArgs a;
    a.command = {"node", "app.js"};
    a.js_names = js;
    a.stack_size = stack;
    auto cfg = cli::make_record_config(a, 1);
    REQUIRE(cfg.ok());
    return *cfg;
  };
  CHECK(config("auto").sampling.js_names == symbols::JsNamesMode::kAuto);
  CHECK(config("auto").sampling.stack_bytes == 32768);  // heap names read the slots of deep frames
  CHECK(config("auto").perf_map);
  CHECK(config("heap").sampling.stack_bytes == 32768);
  CHECK_FALSE(config("heap").perf_map);  // launch mode turns the map on only where it is used
  CHECK(config("map").sampling.stack_bytes == 8192);
  CHECK(config("map").perf_map);
  CHECK_FALSE(config("none").perf_map);
  CHECK(config("auto", "4096").sampling.stack_bytes == 4096);  // --stack-size still wins
  cli::RecordArgs bad;
  bad.pid = "4242";
  bad.js_names = "v8";
  auto cfg = cli::make_record_config(bad, 1);
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().code == ErrorCode::kUsage);
  CHECK(cfg.error().hint.find("--js-names auto, heap, map or none") != std::string::npos);
}

TEST_CASE("launch mode follows the processes the command starts unless --no-children, attach mode only with --children") {
  cli::RecordArgs launch;
  launch.command = {"npm", "start"};
  CHECK(cli::make_record_config(launch, 1)->follow_children);
  launch.no_children = true;
  CHECK_FALSE(cli::make_record_config(launch, 1)->follow_children);
  cli::RecordArgs attach;
  attach.pid = "4242";
  CHECK_FALSE(cli::make_record_config(attach, 1)->follow_children);
  attach.children = true;
  CHECK(cli::make_record_config(attach, 1)->follow_children);
}

TEST_CASE("a forked child's command line is shown without the flags launch mode gave node") {
  const std::string dir = "/tmp/loopperf-abc";
  const std::vector<std::string> forked = {"/usr/bin/node", "--perf-basic-prof", "--interpreted-frames-native-stack",
                                           "--logfile=/tmp/loopperf-abc/v8.log", "--no-logfile-per-isolate",
                                           "/srv/app/worker.js", "--perf-basic-prof"};
  // The script's own arguments stay, whatever they look like.
  CHECK(process::without_launch_flags(forked, dir) ==
        std::vector<std::string>{"/usr/bin/node", "/srv/app/worker.js", "--perf-basic-prof"});
  // Someone else's log file is the user's own flag.
  const std::vector<std::string> own = {"node", "--logfile=/var/log/v8.log", "app.js"};
  CHECK(process::without_launch_flags(own, dir) == own);
}
