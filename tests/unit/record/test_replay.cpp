// Replayable recordings: a short real recording of a real node is saved (Capture) and fed back
// (replay_recording); the replayed profile must be the live one, sample for sample, and two replays
// must agree exactly. This is the pipeline from raw records to a labelled Profile with no live target.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "loopperf/common/fs.h"
#include "loopperf/process/process.h"
#include "loopperf/record/recorder.h"
#include "loopperf/record/replay.h"
#include "lp_skip.h"

using namespace loopperf;
namespace fs = std::filesystem;

namespace {

// A node that reads a file synchronously and builds JSON on a timer, and says when it runs.
const char* kScript = R"(
const fs = require('fs');
function readConfig() { return fs.readFileSync('/etc/services', 'utf8').length; }
function render(n) { let s = 0; for (let i = 0; i < 20000; i++) s += JSON.stringify({ i, n }).length; return s; }
setInterval(function tick() { render(readConfig()); }, 2);
fs.writeFileSync(process.env.READY_FILE, 'ready');
setTimeout(() => process.exit(0), 20000);
)";

struct Target {
  pid_t pid = -1;
  ~Target() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::unlink(("/tmp/perf-" + std::to_string(pid) + ".map").c_str());
    }
  }
};

// The samples as a multiset of (thread, phase, activity, clock, stack of function names).
std::map<std::string, int64_t> sample_set(const profile::Profile& p) {
  std::map<std::string, int64_t> out;
  for (const auto& s : p.samples) {
    std::string key = std::to_string(s.num_label("tid").value_or(0)) + "|" + std::string(s.str_label("phase")) + "|" +
                      std::string(s.str_label("activity")) + "|" + std::string(s.str_label("clock")) + "|";
    for (uint64_t id : s.location_ids)
      for (const auto& line : p.locations[id - 1].lines) key += p.functions[line.function_id - 1].name + ";";
    out[key] += s.values.empty() ? 0 : s.values[0];
  }
  return out;
}

std::string node_on_path() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t colon = dirs.find(':', pos);
    std::string d = dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (!d.empty() && ::access((d + "/node").c_str(), X_OK) == 0) return d + "/node";
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return "";
}

int64_t total(const std::map<std::string, int64_t>& m) {
  int64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

bool has_frame(const std::map<std::string, int64_t>& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k.find(name) != std::string::npos) return true;
  return false;
}

void record_replay_and_compare(bool wall) {
  const std::string node_path = node_on_path();
  if (node_path.empty()) LP_SKIP("no node on PATH");
  const fs::path dir = fs::temp_directory_path() / ("loopperf-replay-" + std::to_string(::getpid()) + (wall ? "-wall" : "-cpu"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string script = (dir / "app.js").string(), ready = (dir / "ready").string();
  std::ofstream(script) << kScript;

  Target t;
  t.pid = ::fork();
  if (t.pid == 0) {
    ::setenv("READY_FILE", ready.c_str(), 1);
    ::execl(node_path.c_str(), "node", "--perf-basic-prof", "--interpreted-frames-native-stack", script.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(t.pid > 0);
  for (int i = 0; i < 1000 && !fs::exists(ready); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(fs::exists(ready));

  record::RecorderOptions opts;
  opts.pid = t.pid;
  opts.wall = wall;
  // Heap names read the live heap, which a replay does not have: this compares the perf map's.
  opts.js_names = symbols::JsNamesMode::kMap;
  opts.frequency_hz = wall ? 199 : 999;
  auto rec = record::Recorder::create(opts);
  REQUIRE(rec.ok());
  auto capture = record::Capture::create((dir / "saved").string(), t.pid);
  REQUIRE(capture.ok());
  (*rec)->set_tap(capture->get());
  auto info = process::inspect(t.pid);
  REQUIRE(info.ok());
  (*rec)->start(info->exe, true);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) (*rec)->step(std::chrono::milliseconds(50));
  (*rec)->stop();
  const auto names = (*rec)->thread_names();
  REQUIRE((*capture)->save_target(**rec, names).ok());
  profile::BuildInfo build;
  build.thread_names = names;
  build.period_ns = 1'000'000'000LL / opts.frequency_hz;
  build.main_binary = info->exe;
  const auto live = sample_set((*rec)->finish_profile(build, {}).profile);
  rec->reset();

  auto first = record::replay_recording((dir / "saved").string());
  REQUIRE(first.ok());
  auto second = record::replay_recording((dir / "saved").string());
  REQUIRE(second.ok());
  const auto replayed = sample_set(first->profile);

  CHECK(total(live) > (wall ? 100 : 300));  // 1.5 s of a busy loop
  // JS names from the saved perf map: tick is named whether interpreted or compiled (readConfig may
  // be inlined into it).
  CHECK(has_frame(live, "tick"));
  CHECK(has_frame(live, "uv_run"));         // native names from the saved node binary
  CHECK(replayed == sample_set(second->profile));
  CHECK(total(replayed) == total(live));
  CHECK(replayed == live);
  if (!wall) {
    // Loop health from the saved poll events.
    CHECK(first->profile.meta("loop." + std::to_string(t.pid) + ".utilization") != "");
  }
  fs::remove_all(dir);
}

}  // namespace

TEST_CASE("replay: a saved cpu recording of a real node gives the live profile again") {
  record_replay_and_compare(false);
}

TEST_CASE("replay: a saved wall recording of a real node gives the live profile again") {
  record_replay_and_compare(true);
}

TEST_CASE("replay: a directory that is not a saved recording is an input error") {
  auto r = record::replay_recording("/nonexistent/loopperf-replay");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::kInput);
}
