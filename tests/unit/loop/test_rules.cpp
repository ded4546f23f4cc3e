// One test per row of the rules table (src/loop/rules.cpp): a realistic frame name for the row (as
// the symbolizer gives it: demangled C++ with arguments, C names with GCC clone suffixes, JS names
// from the perf map) must match the row and yield its fact; near-miss names must not match the row.
// The last test walks rules() and fails for any row that has no entry here (or an entry that no
// longer has a row), so a new rule cannot go untested.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "loopperf/loop/rules.h"

using loopperf::loop::Fact;
using loopperf::loop::Match;
using loopperf::profile::Phase;
using loopperf::profile::phase_name;
using loopperf::loop::Rule;
using loopperf::loop::rule_matches;
using loopperf::loop::rules;

namespace {

struct RowTest {
  std::string_view pattern;
  Fact fact;
  std::vector<std::string_view> match;     // realistic names that must match the row
  std::vector<std::string_view> no_match;  // near misses that must not match the row
  Phase phase = Phase::kUnknown;           // kPhaseCallback rows: the phase the callback stands for
};

// clang-format off
const std::vector<RowTest>& row_tests() {
  static const std::vector<RowTest> kTests = {
    // --- garbage collection ---
    {"v8::internal::Heap::CollectGarbage", Fact::kGc,
     {"v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)",
      "v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags) [clone .cold]",
      "v8::internal::Heap::CollectGarbageFromAnyThread(v8::internal::LocalHeap*, v8::internal::GarbageCollectionReason)"},
     {"v8::internal::ScavengerCollector::CollectGarbage()", "v8::internal::Heap::CollectCodeStatistics()",
      "v8::internal::Heap::AllocateExternalBackingStore(std::function<void* (unsigned long)> const&, unsigned long)"}},
    {"v8::internal::Heap::CollectAllGarbage", Fact::kGc,
     {"v8::internal::Heap::CollectAllGarbage(int, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)"},
     {"v8::internal::Heap::CollectAllAvailableGarbage(v8::internal::GarbageCollectionReason)"}},
    {"v8::internal::Heap::CollectAllAvailableGarbage", Fact::kGc,
     {"v8::internal::Heap::CollectAllAvailableGarbage(v8::internal::GarbageCollectionReason)"},
     {"v8::internal::Heap::CollectAllGarbage(int, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)"}},
    {"v8::internal::Heap::PerformGarbageCollection", Fact::kGc,
     {"v8::internal::Heap::PerformGarbageCollection(v8::internal::GarbageCollector, v8::internal::GarbageCollectionReason, char const*)"},
     {"v8::internal::Heap::SetUp(v8::internal::LocalHeap*)", "v8::internal::LocalHeap::PerformCollection()"}},
    {"v8::internal::Heap::FinalizeIncrementalMarking", Fact::kGc,
     {"v8::internal::Heap::FinalizeIncrementalMarkingIfComplete(v8::internal::GarbageCollectionReason)",
      "v8::internal::Heap::FinalizeIncrementalMarkingAtomically(v8::internal::GarbageCollectionReason)"},
     {"v8::internal::Heap::StartIncrementalMarking(int, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags, v8::internal::GarbageCollector)"}},
    {"v8::internal::ScavengerCollector::", Fact::kGc,
     {"v8::internal::ScavengerCollector::CollectGarbage()",
      "v8::internal::ScavengerCollector::JobTask::Run(v8::JobDelegate*)"},
     {"v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)"}},
    {"v8::internal::Scavenger::", Fact::kGc,
     {"v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)",
      "v8::internal::Scavenger::Process(v8::JobDelegate*)",
      "v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*) [clone .cold]"},
     {"v8::internal::ScavengerCollector::CollectGarbage()", "v8::internal::ScavengeJob::Task::RunInternal()"}},
    {"v8::internal::MarkCompactCollector::", Fact::kGc,
     {"v8::internal::MarkCompactCollector::CollectGarbage()", "v8::internal::MarkCompactCollector::MarkLiveObjects()"},
     {"v8::internal::MinorMarkCompactCollector::CollectGarbage()"}},
    {"v8::internal::MinorMarkCompactCollector::", Fact::kGc,
     {"v8::internal::MinorMarkCompactCollector::CollectGarbage()", "v8::internal::MinorMarkCompactCollector::MarkLiveObjects()"},
     {"v8::internal::MarkCompactCollector::CollectGarbage()"}},
    {"v8::internal::IncrementalMarking::", Fact::kGc,
     {"v8::internal::IncrementalMarking::EmbedderStep(double, double*)",
      "v8::internal::IncrementalMarking::AdvanceOnAllocation()"},
     {"v8::internal::IncrementalMarkingJob::Task::RunInternal()"}},
    {"v8::internal::IncrementalMarkingJob::Task::", Fact::kGc,
     {"v8::internal::IncrementalMarkingJob::Task::RunInternal()"},
     // posting the task from an allocation observer is not GC
     {"v8::internal::IncrementalMarkingJob::ScheduleTask()", "v8::internal::IncrementalMarking::EmbedderStep(double, double*)"}},
    {"v8::internal::ConcurrentMarking::", Fact::kGc,
     {"v8::internal::ConcurrentMarking::JobTaskMajor::Run(v8::JobDelegate*)",
      "v8::internal::ConcurrentMarking::RunMajor(v8::JobDelegate*, v8::base::EnumSet<v8::internal::CodeFlushMode, int>, unsigned int, bool)"},
     {"cppgc::internal::(anonymous namespace)::ConcurrentMarkingTask::Run(v8::JobDelegate*)"}},
    {"v8::internal::Sweeper::", Fact::kGc,
     {"v8::internal::Sweeper::SweeperJob::Run(v8::JobDelegate*)"},
     {"v8::internal::ArrayBufferSweeper::SweepingJob::Sweep()"}},
    {"v8::internal::MinorGCJob::Task::", Fact::kGc,
     {"v8::internal::MinorGCJob::Task::RunInternal()"},
     // seen in a node 20 profile: allocation -> ScheduleMinorGCTaskObserver::Step ->
     // MinorGCJob::ScheduleTaskIfNeeded -> uv_async_send, labelled gc before the row was narrowed
     {"v8::internal::MinorGCJob::ScheduleTaskIfNeeded(v8::internal::Heap*)",
      "v8::internal::MinorGCJob::YoungGenerationTaskTriggerSize(v8::internal::Heap*)",
      "v8::internal::ScavengeJob::Task::RunInternal()"}},
    {"v8::internal::ScavengeJob::Task::", Fact::kGc,
     // V8 <= 11.0 (node 16/18) name of the scheduled-scavenge task
     {"v8::internal::ScavengeJob::Task::RunInternal()"},
     {"v8::internal::ScavengeJob::ScheduleTaskIfNeeded(v8::internal::Heap*)", "v8::internal::MinorGCJob::Task::RunInternal()"}},
    {"v8::internal::ArrayBufferSweeper::", Fact::kGc,
     {"v8::internal::ArrayBufferSweeper::SweepingJob::Sweep()"},
     {"v8::internal::Sweeper::SweeperJob::Run(v8::JobDelegate*)", "v8::internal::ArrayBufferList::Append(v8::internal::ArrayBufferExtension*)"}},
    {"v8::internal::GlobalHandles::PostGarbageCollectionProcessing", Fact::kGc,
     {"v8::internal::GlobalHandles::PostGarbageCollectionProcessing(v8::GCCallbackFlags)"},
     {"v8::internal::GlobalHandles::Create(v8::internal::Object)"}},
    {"PageEvacuationJob", Fact::kGc,
     {"v8::internal::PageEvacuationJob::Run(v8::JobDelegate*)",
      "v8::internal::(anonymous namespace)::PageEvacuationJob::Run(v8::JobDelegate*)"},
     {"v8::internal::Evacuator::EvacuatePage(v8::internal::MemoryChunk*)"}},
    // --- microtasks / nextTick ---
    {"v8::internal::MicrotaskQueue::RunMicrotasks", Fact::kMicrotasks,
     {"v8::internal::MicrotaskQueue::RunMicrotasks(v8::internal::Isolate*)"},
     {"v8::internal::MicrotaskQueue::EnqueueMicrotask(v8::internal::Microtask)",
      "node::task_queue::RunMicrotasks(v8::FunctionCallbackInfo<v8::Value> const&)"}},
    {"v8::internal::MicrotaskQueue::PerformCheckpoint", Fact::kMicrotasks,
     {"v8::internal::MicrotaskQueue::PerformCheckpoint(v8::Isolate*)",
      "v8::internal::MicrotaskQueue::PerformCheckpointInternal(v8::Isolate*)"},
     {"v8::MicrotasksScope::PerformCheckpoint(v8::Isolate*)"}},
    {"Builtins_RunMicrotasks", Fact::kMicrotasks,
     {"Builtins_RunMicrotasks", "Builtins_RunMicrotasksTrampoline"},
     {"Builtins_EnqueueMicrotask", "Builtins_PromiseFulfillReactionJob"}},
    {"processTicksAndRejections", Fact::kMicrotasks,
     {"processTicksAndRejections"},
     {"processTimers", "processImmediate", "processTicksAndRejectionsLater", "listOnTimeout"}},
    {"runMicrotasks", Fact::kMicrotasks,
     {"runMicrotasks"},
     {"runNextTicks", "runMicrotasksSoon", "queueMicrotask"}},
    // --- synchronous I/O ---
    {loopperf::loop::kUvFsRequests, Fact::kSyncFs,
     {"uv_fs_read", "uv_fs_open", "uv_fs_close", "uv_fs_fstat", "uv_fs_write", "uv_fs_stat", "uv_fs_read.cold"},
     // the pool / completion side of fs requests
     {"uv__fs_work", "uv__fs_done", "uv__fs_read", "node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)",
      "node::fs::FSReqAfterScope::FSReqAfterScope(node::fs::FSReqBase*, uv_fs_s*)"}},
    {"node::fs::ReadFileUtf8", Fact::kSyncFs,
     {"node::fs::ReadFileUtf8(v8::FunctionCallbackInfo<v8::Value> const&)",
      "node::fs::ReadFileUtf8(v8::FunctionCallbackInfo<v8::Value> const&) [clone .cold]"},
     // fs.Read is both the sync and the async binding: its uv_fs_read child decides
     {"node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)", "node::fs::ReadDir(v8::FunctionCallbackInfo<v8::Value> const&)"}},
    {"node::fs::SyncCall", Fact::kSyncFs,
     {"int node::fs::SyncCallAndThrowIf<bool (*)(int), int (*)(uv_loop_s*, uv_fs_s*, char const*, void (*)(uv_fs_s*)), char*>(bool (*)(int), node::Environment*, node::fs::FSReqWrapSync*, int (*)(uv_loop_s*, uv_fs_s*, char const*, void (*)(uv_fs_s*)), char*) [clone .constprop.0]",
      "int node::fs::SyncCall<int (*)(uv_loop_s*, uv_fs_s*, int, void (*)(uv_fs_s*)), int>(node::Environment*, v8::Local<v8::Value>, node::fs::FSReqWrapSync*, char const*, int (*)(uv_loop_s*, uv_fs_s*, int, void (*)(uv_fs_s*)), int)"},
     {"node::fs::AsyncCall<int (*)(uv_loop_s*, uv_fs_s*, int, void (*)(uv_fs_s*)), int>(node::Environment*, node::fs::FSReqBase*, v8::FunctionCallbackInfo<v8::Value> const&, char const*, node::encoding, void (*)(uv_fs_s*), int (*)(uv_loop_s*, uv_fs_s*, int, void (*)(uv_fs_s*)), int)"}},
    {"node::fs::FSReqWrapSync", Fact::kSyncFs,
     {"node::fs::FSReqWrapSync::~FSReqWrapSync()"},
     {"node::fs::FSReqCallback::Resolve(v8::Local<v8::Value>)", "node::fs::FSReqAfterScope::~FSReqAfterScope()"}},
    {"uv__work_submit", Fact::kPoolSubmit,
     {"uv__work_submit", "uv__work_submit.constprop.0"},
     {"uv__work_done", "uv_queue_work", "uv__work_submitted"}},
    {"node::SyncProcessRunner::", Fact::kSyncCall,
     {"node::SyncProcessRunner::Spawn(v8::FunctionCallbackInfo<v8::Value> const&)",
      "node::SyncProcessRunner::Spawn(v8::FunctionCallbackInfo<v8::Value> const&) [clone .cold]",
      "node::SyncProcessRunner::TryInitializeAndRunLoop(v8::Local<v8::Value>)"},
     {"node::ProcessWrap::Spawn(v8::FunctionCallbackInfo<v8::Value> const&)"}},
    {"uv_getaddrinfo", Fact::kSyncFs,
     {"uv_getaddrinfo"},
     {"uv__getaddrinfo_work", "uv__getaddrinfo_done", "uv_freeaddrinfo"}},
    // --- the loop ---
    {"epoll_wait", Fact::kPollWait,
     {"epoll_wait"},
     {"epoll_ctl", "epoll_create1", "ares_evsys_epoll_wait_event"}},
    {"epoll_pwait", Fact::kPollWait,
     {"epoll_pwait", "epoll_pwait.cold"},
     {"epoll_pwait2", "__GI_epoll_pwait", "epoll_ctl"}},
    {"epoll_pwait2", Fact::kPollWait,
     {"epoll_pwait2"},
     {"epoll_pwait"}},
    {"__GI_epoll_pwait", Fact::kPollWait,
     {"__GI_epoll_pwait"},
     {"epoll_pwait", "__GI_epoll_wait"}},
    {"__GI_epoll_wait", Fact::kPollWait,
     {"__GI_epoll_wait"},
     {"__GI_epoll_pwait"}},
    {"do_epoll_wait", Fact::kPollWait,
     {"do_epoll_wait"},
     {"__x64_sys_epoll_wait", "do_epoll_ctl"}},
    {"uv__io_poll", Fact::kPoll,
     {"uv__io_poll", "uv__io_poll.cold"},
     {"uv__poll_io", "uv__io_start", "uv__io_feed"}},
    {"uv_run", Fact::kUvRun,
     {"uv_run", "uv_run.cold"},
     {"uv__run_timers", "uv__run_check", "node::SpinEventLoopInternal(node::Environment*)", "uv_runner"}},
    // --- where complete stacks end ---
    // (Exact rows also match JS functions of that name, e.g. a user's `main` or `clone`; harmless as
    // the classifier looks at thread roots only for stacks without uv_run.)
    {"node::Start", Fact::kThreadRoot,
     {"node::Start(int, char**)", "node::Start(int, char**) [clone .cold]",
      "node::StartExecution(node::Environment*, char const*)"},  // bootstrap only, under node::Start anyway
     {"node::NodeMainInstance::Run()", "node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)"}},
    {"main", Fact::kThreadRoot,
     {"main"},
     {"node::NodeMainInstance::Run()", "mainModule", "__libc_start_main"}},
    {"_start", Fact::kThreadRoot,
     {"_start"},
     {"start_thread", "__start_context"}},
    {"__libc_start_main", Fact::kThreadRoot,
     {"__libc_start_main", "__libc_start_main.cold"},
     {"__libc_start_call_main", "__libc_csu_init"}},
    {"__libc_start_call_main", Fact::kThreadRoot,
     {"__libc_start_call_main"},
     {"__libc_start_main"}},
    {"start_thread", Fact::kThreadRoot,
     {"start_thread"},
     {"node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)", "uv_thread_create_ex"}},
    {"clone3", Fact::kThreadRoot,
     {"clone3"},
     {"__clone3_internal", "clone"}},
    {"__clone3", Fact::kThreadRoot,
     {"__clone3"},
     {"clone3"}},
    {"clone", Fact::kThreadRoot,
     {"clone"},
     {"clone3", "structuredClone", "v8::internal::Factory::CopyJSObject(v8::internal::Handle<v8::internal::JSObject>)"}},
    // --- node callbacks that only one phase runs (fallback for stripped binaries) ---
    {"node::Environment::RunTimers", Fact::kPhaseCallback,
     {"node::Environment::RunTimers(uv_timer_s*)"},
     {"node::Environment::ScheduleTimer(long)", "node::Environment::ToggleTimerRef(bool)"}, Phase::kTimers},
    {"node::Environment::CheckImmediate", Fact::kPhaseCallback,
     {"node::Environment::CheckImmediate(uv_check_s*)"},
     {"node::Environment::ToggleImmediateRef(bool)", "node::Environment::RunAndClearNativeImmediates(bool)"}, Phase::kCheck},
    {"node::PerIsolatePlatformData::FlushForegroundTasks", Fact::kPhaseCallback,
     {"node::PerIsolatePlatformData::FlushForegroundTasksInternal()"},
     // the public entry is also called by DrainTasks after uv_run returns
     {"node::NodePlatform::FlushForegroundTasks(v8::Isolate*)", "node::NodePlatform::DrainTasks(v8::Isolate*)"}, Phase::kPoll},
    {"node::LibuvStreamWrap::OnUvRead", Fact::kPhaseCallback,
     {"node::LibuvStreamWrap::OnUvRead(long, uv_buf_t const*)"},
     {"node::LibuvStreamWrap::DoShutdown(node::ShutdownWrap*)", "node::LibuvStreamWrap::AfterUvShutdown(uv_shutdown_s*, int)"}, Phase::kPoll},
    {"node::ConnectionWrap<", Fact::kPhaseCallback,
     {"node::ConnectionWrap<node::TCPWrap, uv_tcp_s>::OnConnection(uv_stream_s*, int)",
      "node::ConnectionWrap<node::PipeWrap, uv_pipe_s>::OnConnection(uv_stream_s*, int)"},
     {"node::TCPWrap::Connect(v8::FunctionCallbackInfo<v8::Value> const&)"}, Phase::kPoll},
    {"node::HandleWrap::OnClose", Fact::kPhaseCallback,
     {"node::HandleWrap::OnClose(uv_handle_s*)"},
     {"node::HandleWrap::Close(v8::Local<v8::Value>)", "node::HandleWrap::OnGCCollect()"}, Phase::kClose},
    // --- thread roles ---
    {"worker", Fact::kPoolThread,
     {"worker", "worker.cold"},
     {"node::worker::Worker::Run()", "workerSpin", "uv__work_done", "worker_threads"}},
    {"node::(anonymous namespace)::PlatformWorkerThread", Fact::kPlatformThread,
     {"node::(anonymous namespace)::PlatformWorkerThread(void*)"},
     {"node::WorkerThreadsTaskRunner::PostTask(std::unique_ptr<v8::Task, std::default_delete<v8::Task> >)"}},
    {"node::WorkerThreadsTaskRunner::DelayedTaskScheduler", Fact::kPlatformThread,
     {"node::WorkerThreadsTaskRunner::DelayedTaskScheduler::Start()::{lambda(void*)#1}::_FUN(void*)",
      "node::WorkerThreadsTaskRunner::DelayedTaskScheduler::RunTask(uv_timer_s*)"},
     {"node::WorkerThreadsTaskRunner::PostDelayedTask(std::unique_ptr<v8::Task, std::default_delete<v8::Task> >, double)"}},
    {"v8::platform::DefaultJobWorker", Fact::kPlatformThread,
     {"v8::platform::DefaultJobWorker::Run()"},
     {"v8::platform::DefaultJobState::Join()"}},
    {"node::worker::Worker::Run", Fact::kWorkerLoop,
     {"node::worker::Worker::Run()", "node::worker::Worker::Run() [clone .cold]"},
     {"node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)",
      "node::worker::MessagePort::OnMessage(node::worker::MessagePort::MessageProcessingMode)"}},
    {"uv_cond_wait", Fact::kThreadWait,
     {"uv_cond_wait", "uv_cond_wait.cold"},
     {"uv_cond_signal", "uv_cond_timedwait", "uv_cond_broadcast"}},
    {"uv_cond_timedwait", Fact::kThreadWait,
     {"uv_cond_timedwait"},
     {"uv_cond_wait"}},
    {"uv_sem_wait", Fact::kThreadWait,
     {"uv_sem_wait", "uv_sem_wait.part.0"},
     {"uv_sem_post", "uv__sem_wait"}},
  };
  return kTests;
}
// clang-format on

const Rule* rule_for(std::string_view pattern) {
  for (const Rule& r : rules())
    if (r.pattern == pattern) return &r;
  return nullptr;
}

bool yields(std::string_view name, Fact fact) {
  bool found = false;
  loopperf::loop::for_each_fact(name, [&](Fact f) { found |= f == fact; });
  return found;
}

}  // namespace

TEST_CASE("rules: every row matches its realistic names and yields its fact", "[loop][rules]") {
  for (const RowTest& t : row_tests()) {
    DYNAMIC_SECTION("row " << t.pattern) {
      const Rule* r = rule_for(t.pattern);
      REQUIRE(r != nullptr);
      CHECK(r->fact == t.fact);
      if (t.fact == Fact::kPhaseCallback) CHECK(phase_name(r->phase) == phase_name(t.phase));
      CHECK_FALSE(r->why.empty());
      REQUIRE_FALSE(t.match.empty());
      for (std::string_view name : t.match) {
        INFO(name);
        CHECK(rule_matches(*r, name));
        CHECK(yields(name, t.fact));
      }
    }
  }
}

TEST_CASE("rules: near misses do not match the row", "[loop][rules]") {
  for (const RowTest& t : row_tests()) {
    DYNAMIC_SECTION("row " << t.pattern) {
      const Rule* r = rule_for(t.pattern);
      REQUIRE(r != nullptr);
      for (std::string_view name : t.no_match) {
        INFO(name);
        CHECK_FALSE(rule_matches(*r, name));
      }
    }
  }
}

TEST_CASE("rules: every row of rules() has a test above, and every test a row", "[loop][rules]") {
  std::set<std::string_view> tested;
  for (const RowTest& t : row_tests()) {
    INFO("duplicate test for " << t.pattern);
    CHECK(tested.insert(t.pattern).second);
  }
  std::set<std::string_view> patterns;
  for (const Rule& r : rules()) {
    INFO("rule without a test: \"" << r.pattern << "\" (add a RowTest with realistic and near-miss names)");
    CHECK(tested.count(r.pattern) == 1);
    INFO("duplicate rule pattern " << r.pattern);
    CHECK(patterns.insert(r.pattern).second);
  }
  for (std::string_view p : tested) {
    INFO("test for a rule that no longer exists: " << p);
    CHECK(patterns.count(p) == 1);
  }
}

TEST_CASE("rules: match kinds and clone suffixes", "[loop][rules]") {
  const Rule exact{"uv_run", Match::kExact, Fact::kUvRun, ""};
  CHECK(rule_matches(exact, "uv_run"));
  CHECK(rule_matches(exact, "uv_run.part.0"));
  CHECK(rule_matches(exact, "uv_run.isra.0"));
  CHECK_FALSE(rule_matches(exact, "uv_run2"));
  CHECK_FALSE(rule_matches(exact, "uv_ru"));
  CHECK_FALSE(rule_matches(exact, ""));
  // A dot after "::", "(" or a space is not a C clone suffix: C++ names stay whole.
  const Rule worker{"worker", Match::kExact, Fact::kPoolThread, ""};
  CHECK_FALSE(rule_matches(worker, "ns::worker.cold"));
  CHECK_FALSE(rule_matches(worker, "worker(int).x"));
  const Rule prefix{"v8::internal::Sweeper::", Match::kPrefix, Fact::kGc, ""};
  CHECK(rule_matches(prefix, "v8::internal::Sweeper::SweeperJob::Run(v8::JobDelegate*)"));
  CHECK_FALSE(rule_matches(prefix, "v8::internal::Sweeper"));
  CHECK_FALSE(rule_matches(prefix, "void v8::internal::Sweeper::X()"));
  const Rule contains{"PageEvacuationJob", Match::kContains, Fact::kGc, ""};
  CHECK(rule_matches(contains, "v8::internal::PageEvacuationJob::Run(v8::JobDelegate*)"));
  CHECK_FALSE(rule_matches(contains, "PageEvacuation"));
}

TEST_CASE("rules: common non-loop frames yield no fact", "[loop][rules]") {
  for (std::string_view name :
       {"node::InternalCallbackScope::Close()", "uv__stream_io", "uv__async_io.part.0", "uv__server_io",
        "node::NodePlatform::FlushForegroundTasks(v8::Isolate*)", "node::SpinEventLoopInternal(node::Environment*)",
        "node::NodeMainInstance::Run()", "hotFunction", "uv__work_done", "uv__fs_work", "uv__fs_done",
        "Builtins_InterpreterEntryTrampoline", "Builtins_JSEntry", "read", "__memmove_avx_unaligned_erms",
        "node::MakeLibuvRequestCallback<uv_shutdown_s, void (*)(uv_shutdown_s*, int)>::Wrapper(uv_shutdown_s*, int)",
        "uv__run_timers", "uv__run_check", "uv__hrtime", "clock_gettime", ""}) {
    int n = 0;
    loopperf::loop::for_each_fact(name, [&](Fact) { n++; });
    INFO(name);
    CHECK(n == 0);
  }
}

// libuv functions named uv_fs_* that do no file I/O and never block (fs event / fs poll watchers,
// request accessors and cleanup) must not make a sample "sync-io": e.g. the async readFile
// completion in the poll phase ends in FSReqAfterScope::~FSReqAfterScope -> uv_fs_req_cleanup.
TEST_CASE("rules: uv_fs_ functions that are not file I/O do not make sync-io", "[loop][rules]") {
  for (std::string_view name :
       {"uv_fs_event_start", "uv_fs_event_init", "uv_fs_event_stop", "uv_fs_event_getpath", "uv_fs_poll_start",
        "uv_fs_poll_stop", "uv_fs_poll_getpath", "uv_fs_req_cleanup", "uv_fs_scandir_next", "uv_fs_get_result",
        "uv_fs_get_ptr", "uv_fs_get_statbuf"}) {
    INFO(name);
    CHECK_FALSE(yields(name, Fact::kSyncFs));
  }
}
