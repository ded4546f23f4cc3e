#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loopperf/sample/sample_record.h"
#include "loopperf/sample/tree_sampler.h"
#include "held_child.h"

using namespace loopperf;

namespace {
// A PERF_RECORD_SAMPLE as an event of `cfg` lays it out: head, callchain, then registers and stack.
std::vector<uint64_t> sample_record(const sample::EventConfig& cfg, std::vector<uint64_t> ips,
                                    std::vector<uint64_t> regs, std::vector<uint8_t> stack, uint64_t dyn) {
  std::vector<uint64_t> w(1);  // the header, filled last
  w.push_back((uint64_t{7} << 32) | 42);  // pid 42, tid 7
  w.push_back(123456789);                 // time
  w.push_back(1001001);                   // period
  w.push_back(ips.size());
  w.insert(w.end(), ips.begin(), ips.end());
  if (cfg.user_regs_and_stack) {
    w.push_back(regs.empty() ? PERF_SAMPLE_REGS_ABI_NONE : PERF_SAMPLE_REGS_ABI_64);
    w.insert(w.end(), regs.begin(), regs.end());
    w.push_back(stack.size());
    std::vector<uint64_t> words((stack.size() + 7) / 8);
    if (!stack.empty()) std::memcpy(words.data(), stack.data(), stack.size());  // memcpy of null: UB
    w.insert(w.end(), words.begin(), words.end());
    if (!stack.empty()) w.push_back(dyn);
  }
  perf_event_header h{PERF_RECORD_SAMPLE, 0, static_cast<uint16_t>(w.size() * 8)};
  std::memcpy(w.data(), &h, sizeof h);
  return w;
}
}  // namespace

TEST_CASE("a sample record is read in place, and a copy of it reads the same") {
  sample::EventConfig cfg;
  cfg.user_regs_and_stack = true;
  cfg.regs_mask = 0b111;  // three registers
  std::vector<uint8_t> stack(16);
  for (size_t i = 0; i < stack.size(); i++) stack[i] = static_cast<uint8_t>(i + 1);
  auto rec = sample_record(cfg, {0x1000, 0x2000}, {11, 22, 33}, stack, 12);
  sample::RawSample s;
  REQUIRE(sample::parse_cpu_sample(reinterpret_cast<const perf_event_header*>(rec.data()), cfg, s));
  CHECK(s.pid == 42);
  CHECK(s.tid == 7);
  CHECK(s.time_ns == 123456789);
  CHECK(s.period == 1001001);
  REQUIRE(s.nr == 2);
  CHECK(s.ips[1] == 0x2000);
  REQUIRE(s.regs_count == 3);
  CHECK(s.regs[2] == 33);
  CHECK(s.stack_size == 12);  // what the kernel copied (dyn_size), not the room it had
  CHECK(s.stack[11] == 12);

  // A copy outlives the ring: the same fields and bytes, at its own addresses.
  sample::OwnedSample copy(s);
  std::fill(rec.begin(), rec.end(), 0);  // the ring moves on
  const sample::RawSample v = copy.view();
  CHECK(v.pid == 42);
  CHECK(v.time_ns == 123456789);
  REQUIRE(v.nr == 2);
  CHECK(v.ips[0] == 0x1000);
  REQUIRE(v.regs_count == 3);
  CHECK(v.regs[0] == 11);
  REQUIRE(v.stack_size == 12);
  CHECK(v.stack[0] == 1);
  CHECK(copy.bytes() > 12 + 3 * 8 + 2 * 8);

  // A kernel thread's sample has no user registers or stack: the copy says so too.
  auto bare = sample_record(cfg, {0x3000}, {}, {}, 0);
  REQUIRE(sample::parse_cpu_sample(reinterpret_cast<const perf_event_header*>(bare.data()), cfg, s));
  CHECK(s.regs == nullptr);
  CHECK(s.stack == nullptr);
  const sample::RawSample bv = sample::OwnedSample(s).view();
  CHECK(bv.regs == nullptr);
  CHECK(bv.stack == nullptr);

  // Cut short (a corrupt ring): refused, never read past its end.
  auto cut = sample_record(cfg, {0x1000, 0x2000}, {11, 22, 33}, stack, 12);
  reinterpret_cast<perf_event_header*>(cut.data())->size = 8 * 8;
  CHECK_FALSE(sample::parse_cpu_sample(reinterpret_cast<const perf_event_header*>(cut.data()), cfg, s));
}

// A child held at a pipe before it execs a shell that forks a busy subshell and runs a program:
// every process of the tree is sampled through the per-CPU inherited events, from the exec on,
// with the programs' names and executable mappings.
TEST_CASE("a process tree's every process is sampled from the held child's exec on") {
  HeldChild held("( i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done ); "
                 "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; /bin/true");
  const pid_t child = held.pid;
  REQUIRE(child > 0);
  sample::EventConfig cfg;
  cfg.kernel = false;
  cfg.ring_pages = 64;
  auto tree = sample::TreeSampler::open(child, cfg);
  if (!tree) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  }
  REQUIRE(tree.ok());
  // Nothing before the exec: the held child has not run.
  std::map<pid_t, int> samples;
  std::map<pid_t, std::string> exec_names;
  std::set<std::string> mapped;
  bool own = false;
  auto drain = [&] {
    (*tree)->drain(
        [&](const sample::RawSample& s) {
          samples[s.pid]++;
          own = own || s.pid == ::getpid();
        },
        [&](pid_t pid, pid_t, const char* name, bool exec) {
          if (exec) exec_names[pid] = name;
        },
        [&](pid_t pid, uint64_t, process::MapEntry m) {
          if (pid == child || exec_names.count(pid)) mapped.insert(m.clean_path());
        });
  };
  drain();
  CHECK(samples.empty());
  REQUIRE(held.release());
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*tree)->stop();
  drain();
  CHECK_FALSE(own);
  CHECK(samples[child] > 10);   // the shell's own loop
  CHECK(samples.size() >= 2);   // and its subshell's, a process forked without exec
  CHECK(exec_names[child] == "sh");
  CHECK(mapped.count("/usr/bin/dash") + mapped.count("/bin/dash") + mapped.count("/bin/sh") + mapped.count("/usr/bin/sh") >= 1);
  CHECK((*tree)->lost() == 0);
  CHECK((*tree)->samples() > 20);
}
