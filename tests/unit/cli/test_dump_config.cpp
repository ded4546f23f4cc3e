#include <catch2/catch.hpp>

#include "dump_config.h"

using namespace loopperf;

TEST_CASE("dump options become a plain config") {
  cli::DumpArgs a;
  a.pid = "4242";
  a.json = true;
  auto cfg = cli::make_dump_config(a, 1);
  REQUIRE(cfg.ok());
  CHECK(cfg->dump.pid == 4242);
  CHECK(cfg->json);
  CHECK_FALSE(cfg->dump.while_stopped);  // the stop observer is for tests, never set from the command line
  CHECK(cfg->dump.js_names == symbols::JsNamesMode::kAuto);
  a.js_names = "heap";
  CHECK(cli::make_dump_config(a, 1)->dump.js_names == symbols::JsNamesMode::kHeap);
  a.js_names = "maybe";
  CHECK(cli::make_dump_config(a, 1).error().code == ErrorCode::kUsage);
}

TEST_CASE("dump refuses a bad pid and itself, as a usage error") {
  for (const char* pid : {"", "x", "0", "-3", "4194305", "12abc"}) {
    cli::DumpArgs a;
    a.pid = pid;
    auto cfg = cli::make_dump_config(a, 1);
    REQUIRE_FALSE(cfg.ok());
    CHECK(cfg.error().code == ErrorCode::kUsage);
  }
  cli::DumpArgs self;
  self.pid = "777";
  auto cfg = cli::make_dump_config(self, 777);
  REQUIRE_FALSE(cfg.ok());
  CHECK(cfg.error().code == ErrorCode::kUsage);
  CHECK(cfg.error().message.find("itself") != std::string::npos);
}
