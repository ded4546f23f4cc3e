#include <catch2/catch.hpp>

#include "watch_config.h"

using namespace loopperf;
using namespace std::chrono_literals;

TEST_CASE("watch options become a plain config, with the documented defaults") {
  cli::WatchArgs a;
  a.pid = "4242";
  auto cfg = cli::make_watch_config(a, 1);
  REQUIRE(cfg.ok());
  const auto& w = cfg->watch;
  CHECK(w.pid == 4242);
  CHECK(w.dir == ".");
  CHECK(w.stall == 200ms);
  CHECK(w.keep == 30s);
  CHECK(w.max_capture == 10s);
  CHECK(w.idle_rate_hz == 49);
  CHECK(w.sampling.frequency_hz == 499);
  CHECK(w.max_incidents == 20);
  CHECK(w.max_bytes == 256ull << 20);
  CHECK_FALSE(w.duration);
  CHECK(w.sampling.stall_threshold_ns == 200'000'000);
  CHECK(w.sampling.stack_bytes == 32768);  // heap names, as record
  a.stall = "150ms";
  a.keep = "1m";
  a.max_capture = "3s";
  a.output = "/var/log/stalls";
  a.frequency = "999";
  a.idle_rate = "19";
  a.max_incidents = "5";
  a.max_bytes = "1G";
  a.json = true;
  cfg = cli::make_watch_config(a, 1);
  REQUIRE(cfg.ok());
  CHECK(cfg->watch.stall == 150ms);
  CHECK(cfg->watch.keep == 60s);
  CHECK(cfg->watch.max_capture == 3s);
  CHECK(cfg->watch.dir == "/var/log/stalls");
  CHECK(cfg->watch.sampling.frequency_hz == 999);
  CHECK(cfg->watch.idle_rate_hz == 19);
  CHECK(cfg->watch.max_incidents == 5);
  CHECK(cfg->watch.max_bytes == 1ull << 30);
  CHECK(cfg->json);
}

TEST_CASE("watch refuses what it cannot do, as usage errors") {
  const auto refused = [](cli::WatchArgs a) {
    auto cfg = cli::make_watch_config(a, 77);
    return !cfg.ok() && cfg.error().code == ErrorCode::kUsage;
  };
  cli::WatchArgs none;
  CHECK(refused(none));  // no target
  cli::WatchArgs both;
  both.pid = "5";
  both.command = {"node", "x.js"};
  CHECK(refused(both));
  cli::WatchArgs self;
  self.pid = "77";
  CHECK(refused(self));
  for (auto set : std::vector<void (*)(cli::WatchArgs&)>{
           [](cli::WatchArgs& a) { a.stall = "10ms"; }, [](cli::WatchArgs& a) { a.stall = "soon"; },
           [](cli::WatchArgs& a) { a.max_capture = "50ms"; }, [](cli::WatchArgs& a) { a.frequency = "0"; },
           [](cli::WatchArgs& a) { a.frequency = "5000"; }, [](cli::WatchArgs& a) { a.idle_rate = "600"; },
           [](cli::WatchArgs& a) { a.max_incidents = "0"; }, [](cli::WatchArgs& a) { a.max_bytes = "12X"; },
           [](cli::WatchArgs& a) { a.max_bytes = "M"; }, [](cli::WatchArgs& a) { a.output = ""; },
           [](cli::WatchArgs& a) { a.js_names = "maybe"; }}) {
    cli::WatchArgs a;
    a.pid = "5";
    set(a);
    CHECK(refused(a));
  }
}

TEST_CASE("sizes are bytes in powers of 1024") {
  CHECK(*cli::parse_bytes("1048576", "x") == 1048576);
  CHECK(*cli::parse_bytes("500k", "x") == 500 * 1024);
  CHECK(*cli::parse_bytes("256M", "x") == 256ull << 20);
  CHECK(*cli::parse_bytes("2GiB", "x") == 2ull << 30);
  CHECK_FALSE(cli::parse_bytes("-1M", "x").ok());
  CHECK_FALSE(cli::parse_bytes("", "x").ok());
}
