// classify_stack / role_of_stack / label_profile on hand-built profiles: stacks as node 20 shows
// them (node-internals.md 1.3-1.8), with a fake uv_run phase function that maps the uv_run frame's
// location address to a phase (what UvRunPhases does with the real call-site table).
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "loopperf/loop/classifier.h"
#include "loopperf/profile/profile.h"

using namespace loopperf;
using profile::Activity;
using profile::Phase;
using profile::ThreadRole;

namespace {

constexpr int64_t kMainTid = 4242;

enum class K { kJs, kNative, kBuiltin, kLibc, kKernel, kUnnamedJit, kUnnamedNative };

struct Fr {
  std::string name;
  K kind = K::kNative;
  std::optional<Phase> uv_run;  // a uv_run frame whose return address the fake maps to this phase
};

Fr js(std::string n) { return {std::move(n), K::kJs, {}}; }
Fr nat(std::string n) { return {std::move(n), K::kNative, {}}; }
Fr bi(std::string n) { return {std::move(n), K::kBuiltin, {}}; }
Fr libc(std::string n) { return {std::move(n), K::kLibc, {}}; }
Fr kern(std::string n) { return {std::move(n), K::kKernel, {}}; }
Fr uv_run(Phase p) { return {"uv_run", K::kNative, p}; }
Fr unnamed_jit() { return {"", K::kUnnamedJit, {}}; }
Fr unnamed() { return {"", K::kUnnamedNative, {}}; }

using Stack = std::vector<Fr>;  // leaf first

Stack operator+(Stack a, const Stack& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The frames below a loop phase, down to the thread's root.
const Stack kMainRoot = {nat("node::SpinEventLoopInternal(node::Environment*)"), nat("node::NodeMainInstance::Run()"),
                         nat("node::Start(int, char**)"), libc("__libc_start_call_main"), libc("__libc_start_main"),
                         nat("_start")};
Stack main_loop(Phase p) { return Stack{uv_run(p)} + kMainRoot; }

// JS called from a native callback: the V8 entry frames.
const Stack kJsEntry = {bi("Builtins_JSEntryTrampoline"), bi("Builtins_JSEntry"),
                        nat("v8::internal::(anonymous namespace)::Invoke(v8::internal::Isolate*, "
                            "v8::internal::(anonymous namespace)::InvokeParams const&)"),
                        nat("v8::internal::Execution::Call(v8::internal::Isolate*, v8::internal::Handle<v8::internal::"
                            "Object>, v8::internal::Handle<v8::internal::Object>, int, "
                            "v8::internal::Handle<v8::internal::Object>*)"),
                        nat("v8::Function::Call(v8::Local<v8::Context>, v8::Local<v8::Value>, int, "
                            "v8::Local<v8::Value>*)")};
const Stack kTimers = Stack{js("listOnTimeout"), js("processTimers")} + kJsEntry +
                      Stack{nat("node::Environment::RunTimers(uv_timer_s*)"), nat("uv__run_timers")};
const Stack kCheck = Stack{js("processImmediate")} + kJsEntry +
                     Stack{nat("node::InternalMakeCallback(node::Environment*, v8::Local<v8::Object>, "
                               "v8::Local<v8::Object>, v8::Local<v8::Function>, int, v8::Local<v8::Value>*, "
                               "node::async_context)"),
                           nat("node::MakeCallback(v8::Isolate*, v8::Local<v8::Object>, v8::Local<v8::Function>, int, "
                               "v8::Local<v8::Value>*, node::async_context)"),
                           nat("node::Environment::CheckImmediate(uv_check_s*)"), nat("uv__run_check")};
// A C++ binding called from JS.
const Stack kApiCall = {nat("v8::internal::FunctionCallbackArguments::Call(v8::internal::CallHandlerInfo)"),
                        nat("v8::internal::MaybeHandle<v8::internal::Object> v8::internal::(anonymous namespace)::"
                            "HandleApiCallHelper<false>(v8::internal::Isolate*, v8::internal::Handle<v8::internal::"
                            "HeapObject>, v8::internal::Handle<v8::internal::FunctionTemplateInfo>, "
                            "v8::internal::Handle<v8::internal::Object>, unsigned long*, int)"),
                        nat("v8::internal::Builtin_HandleApiCall(int, unsigned long*, v8::internal::Isolate*)"),
                        bi("Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit")};
const Stack kReadSyscall = {kern("copy_user_enhanced_fast_string"), kern("filemap_read"), kern("vfs_read"),
                            kern("ksys_read"), kern("do_syscall_64"), kern("entry_SYSCALL_64_after_hwframe"),
                            libc("read")};

struct Builder {
  profile::Profile p;
  std::map<uint64_t, Phase> uv_run_phase_at;  // location address -> phase
  uint64_t next_addr = 0x1000;
  std::map<std::string, uint64_t> fn_ids;

  Builder() {
    p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    p.mappings = {
        profile::Mapping{0x400000, 0x6000000, 0, "/usr/bin/node", "ebeaf2df", true, true, true},
        profile::Mapping{0x7f0000000000, 0x7f0000100000, 0, "[jit]", "", true, false, false},
        profile::Mapping{0x7f1000000000, 0x7f1000200000, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6", "", true, false,
                         false},
        profile::Mapping{0xffffffff81000000, 0xffffffff83000000, 0, "[kernel.kallsyms]", "", true, false, false},
    };
  }
  uint64_t function(const std::string& name, const std::string& system_name) {
    auto key = name + "\x01" + system_name;
    auto it = fn_ids.find(key);
    if (it != fn_ids.end()) return it->second;
    p.functions.push_back(profile::Function{name, system_name, "", 0});
    return fn_ids[key] = p.functions.size();
  }
  uint64_t location(const Fr& f) {
    uint64_t mapping = 1;
    std::string sys = f.name;
    switch (f.kind) {
      case K::kJs:
        mapping = 2;
        sys = "JS:*" + f.name + " /app/server.js:10:3";
        break;
      case K::kUnnamedJit: mapping = 2; break;
      case K::kLibc: mapping = 3; break;
      case K::kKernel: mapping = 4; break;
      default: break;
    }
    profile::Location loc;
    loc.mapping_id = mapping;
    loc.address = p.mappings[mapping - 1].start + (next_addr += 0x10);
    if (f.kind != K::kUnnamedJit && f.kind != K::kUnnamedNative) loc.lines.push_back({function(f.name, sys), 0, 0});
    if (f.uv_run) uv_run_phase_at[loc.address] = *f.uv_run;
    p.locations.push_back(std::move(loc));
    return p.locations.size();
  }
  profile::Sample sample(const Stack& stack, int64_t tid, int64_t count = 1) {
    profile::Sample s;
    for (const auto& f : stack) s.location_ids.push_back(location(f));
    s.values = {count, count * 1000000};
    s.labels.push_back(profile::Label{"thread", tid == kMainTid ? "node" : "worker", 0, "", false});
    s.labels.push_back(profile::Label{"tid", "", tid, "", true});
    p.samples.push_back(s);
    return s;
  }
  loop::UvRunPhaseFn phase_fn() {
    return [this](const loop::FrameRef& f) {
      if (!f.location) return Phase::kUnknown;
      auto it = uv_run_phase_at.find(f.location->address);
      return it == uv_run_phase_at.end() ? Phase::kUnknown : it->second;
    };
  }
};

// A stripped binary: the uv_run frame is there, its call sites are not.
const loop::UvRunPhaseFn kStripped = [](const loop::FrameRef&) { return Phase::kUnknown; };

struct Result {
  std::string phase, activity, role, entry;
};

Result classify(const Stack& stack, bool main_thread = true, const loop::UvRunPhaseFn* fn = nullptr) {
  Builder b;
  const profile::Sample s = b.sample(stack, main_thread ? kMainTid : kMainTid + 1);
  auto frames = loop::frames_of(b.p, s);
  ThreadRole role = loop::role_of_stack(frames, main_thread);
  loop::Classification c = loop::classify_stack(frames, role, fn ? *fn : b.phase_fn());
  return {std::string(profile::phase_name(c.phase)), std::string(profile::activity_name(c.activity)),
          std::string(profile::role_name(role)), std::string(profile::entry_name(c.entry))};
}

}  // namespace

TEST_CASE("classify: JS in a timer callback", "[loop][classifier]") {
  Result r = classify(Stack{js("hotTimers")} + kTimers + main_loop(Phase::kTimers));
  CHECK(r.role == "main-loop");
  CHECK(r.phase == "timers");
  CHECK(r.activity == "js");
  // An unnamed JIT frame (code the perf map does not know) at the leaf is still JS.
  CHECK(classify(Stack{unnamed_jit()} + kTimers + main_loop(Phase::kTimers)).activity == "js");
  // A V8 builtin at the leaf is JS work too.
  CHECK(classify(Stack{bi("Builtins_StringAdd_CheckNone"), js("hotTimers")} + kTimers + main_loop(Phase::kTimers))
            .activity == "js");
}

TEST_CASE("classify: JS in a setImmediate callback (check)", "[loop][classifier]") {
  Result r = classify(Stack{js("hotCheck")} + kCheck + main_loop(Phase::kCheck));
  CHECK(r.phase == "check");
  CHECK(r.activity == "js");
}

TEST_CASE("classify: an HTTP handler run from a poll callback", "[loop][classifier]") {
  Stack s = Stack{js("hotHandler"), js("emit"), js("parserOnIncoming"), js("parserOnHeadersComplete")} + kJsEntry +
            Stack{nat("node::(anonymous namespace)::Parser::OnStreamRead(long, uv_buf_t const&)"),
                  nat("node::LibuvStreamWrap::OnUvRead(long, uv_buf_t const*)"), nat("uv__read"),
                  nat("uv__stream_io"), nat("uv__io_poll")} +
            main_loop(Phase::kPoll);
  Result r = classify(s);
  CHECK(r.phase == "poll");
  CHECK(r.activity == "js");
  // Native work of the same callback (the leaf in libc) is "native".
  CHECK(classify(Stack{libc("__memmove_avx_unaligned_erms")} + s).activity == "native");
  // V8's own C++ called by the JavaScript (JSON.parse, a runtime function) is JavaScript's work.
  CHECK(classify(Stack{nat("v8::internal::JsonParser<unsigned char>::ParseJsonValue()"),
                       nat("v8::internal::Builtin_JsonParse(int, unsigned long*, v8::internal::Isolate*)"),
                       bi("Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit")} +
                  s)
            .activity == "js");
  // ... also where V8 called the C library at the leaf (the string table's memcmp).
  CHECK(classify(Stack{libc("__memcmp_evex_movbe"),
                       nat("v8::internal::JsonParser<unsigned char>::ParseJsonValue()"),
                       nat("v8::internal::Builtin_JsonParse(int, unsigned long*, v8::internal::Isolate*)"),
                       bi("Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit")} +
                  s)
            .activity == "js");
  CHECK(classify(Stack{nat("v8::internal::Runtime_StringSplit(int, unsigned long*, v8::internal::Isolate*)"),
                       bi("Builtins_StringPrototypeSplit")} +
                  s)
            .activity == "js");
  // A node binding between V8 and the JavaScript keeps it native.
  CHECK(classify(Stack{nat("v8::internal::Factory::NewStringFromUtf8(v8::base::Vector<char const> const&)"),
                       nat("node::StringBytes::Encode(v8::Isolate*, char const*, unsigned long, node::encoding)")} +
                  kApiCall + s)
            .activity == "native");
}

TEST_CASE("classify: pending phase reached through tail calls (no libuv frame under uv_run)", "[loop][classifier]") {
  // uv__stream_io ends with `jmp uv__drain`, uv__drain with `jmp *%rax`: the shutdown callback's
  // caller frame is uv_run itself, at the inlined uv__run_pending's return address.
  Stack s = Stack{js("hotPending"), js("afterShutdown")} + kJsEntry +
            Stack{nat("node::MakeLibuvRequestCallback<uv_shutdown_s, void (*)(uv_shutdown_s*, int)>::Wrapper("
                      "uv_shutdown_s*, int)")} +
            main_loop(Phase::kPending);
  Result r = classify(s);
  CHECK(r.phase == "pending");
  CHECK(r.activity == "js");
  // The shutdown syscall itself, its libuv callers lost (caller-of-leaf loss), is still pending.
  Result k = classify(Stack{kern("__sys_shutdown"), kern("do_syscall_64"), libc("__GI___shutdown")} +
                      main_loop(Phase::kPending));
  CHECK(k.phase == "pending");
  CHECK(k.activity == "native");
}

TEST_CASE("classify: a close callback", "[loop][classifier]") {
  Stack s = Stack{js("hotClose"), js("emit"), js("<anonymous>")} + kJsEntry +
            Stack{nat("node::MakeCallback(v8::Isolate*, v8::Local<v8::Object>, v8::Local<v8::Function>, int, "
                      "v8::Local<v8::Value>*, node::async_context)"),
                  nat("node::HandleWrap::OnClose(uv_handle_s*)")} +
            main_loop(Phase::kClose);
  Result r = classify(s);
  CHECK(r.phase == "close");
  CHECK(r.activity == "js");
}

TEST_CASE("classify: promise jobs nested in the timers phase", "[loop][classifier]") {
  const Stack machinery = Stack{bi("Builtins_RunMicrotasks"), bi("Builtins_JSRunMicrotasksEntry"),
                                nat("v8::internal::(anonymous namespace)::Invoke(v8::internal::Isolate*, "
                                    "v8::internal::(anonymous namespace)::InvokeParams const&)"),
                                nat("v8::internal::Execution::TryRunMicrotasks(v8::internal::Isolate*, "
                                    "v8::internal::MicrotaskQueue*, v8::internal::MaybeHandle<v8::internal::Object>*)"),
                                nat("v8::internal::MicrotaskQueue::RunMicrotasks(v8::internal::Isolate*)"),
                                nat("v8::internal::MicrotaskQueue::PerformCheckpoint(v8::Isolate*)")};
  // A continuation's own code: activity js, entered as a microtask.
  const Stack micro = Stack{js("hotMicrotask"), bi("Builtins_PromiseFulfillReactionJob")} + machinery;
  const Stack close_scope = Stack{nat("node::InternalCallbackScope::Close()"),
                                  nat("node::InternalCallbackScope::~InternalCallbackScope()"),
                                  nat("node::Environment::RunTimers(uv_timer_s*)"), nat("uv__run_timers")};
  SECTION("checkpoint after the callback (InternalCallbackScope::Close)") {
    Result r = classify(micro + close_scope + main_loop(Phase::kTimers));
    CHECK(r.phase == "timers");
    CHECK(r.activity == "js");
    CHECK(r.entry == "microtask");
  }
  SECTION("runMicrotasks() between timers (listOnTimeout -> runNextTicks)") {
    Result r = classify(micro + kApiCall + Stack{js("runNextTicks")} + kTimers + main_loop(Phase::kTimers));
    CHECK(r.phase == "timers");
    CHECK(r.activity == "js");
    CHECK(r.entry == "microtask");
  }
  SECTION("native work called from a continuation is native") {
    Result r = classify(Stack{nat("node::crypto::Hash::HashUpdate"), bi("Builtins_CallApiCallback")} + micro +
                        close_scope + main_loop(Phase::kTimers));
    CHECK(r.activity == "native");
    CHECK(r.entry == "microtask");
  }
  SECTION("the machinery itself: a reaction job with no function of its own on the stack") {
    Result r = classify(Stack{bi("Builtins_PromiseFulfillReactionJob")} + machinery + close_scope +
                        main_loop(Phase::kTimers));
    CHECK(r.activity == "microtasks");
    CHECK(r.entry == "microtask");
    CHECK(classify(machinery + close_scope + main_loop(Phase::kTimers)).activity == "microtasks");
  }
  SECTION("nextTick queue (processTicksAndRejections)") {
    Result r = classify(Stack{js("hotTick"), js("processTicksAndRejections")} + kJsEntry +
                        Stack{nat("node::InternalCallbackScope::Close()")} + kCheck + main_loop(Phase::kCheck));
    CHECK(r.phase == "check");
    CHECK(r.activity == "js");
    CHECK(r.entry == "nextTick");
    // The queue's own loop, between callbacks.
    CHECK(classify(Stack{js("processTicksAndRejections")} + kJsEntry +
                   Stack{nat("node::InternalCallbackScope::Close()")} + kCheck + main_loop(Phase::kCheck))
              .activity == "microtasks");
  }
}

TEST_CASE("classify: the entry follows the phase's callbacks, and is known on loop threads only", "[loop][classifier]") {
  CHECK(classify(Stack{js("hotTimers")} + kTimers + main_loop(Phase::kTimers)).entry == "timer");
  CHECK(classify(Stack{js("hotCheck")} + kCheck + main_loop(Phase::kCheck)).entry == "immediate");
  CHECK(classify(Stack{js("main")} + kJsEntry + Stack{nat("node::Start(int, char**)")}).entry == "top-level");
  CHECK(classify(Stack{nat("v8::internal::ConcurrentMarking::Run()"),
                       nat("node::(anonymous namespace)::PlatformWorkerThread(void*)"), nat("start_thread")},
                 false)
            .entry == "unknown");
}

TEST_CASE("classify: GC in the poll phase through V8 foreground tasks", "[loop][classifier]") {
  Stack s = {nat("v8::internal::Scavenger::ScavengePage(v8::internal::MemoryChunk*)"),
             nat("v8::internal::ScavengerCollector::CollectGarbage()"),
             nat("v8::internal::Heap::Scavenge()"),
             nat("v8::internal::Heap::PerformGarbageCollection(v8::internal::GarbageCollector, "
                 "v8::internal::GarbageCollectionReason, char const*)"),
             nat("v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, "
                 "v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)"),
             nat("v8::internal::MinorGCJob::Task::RunInternal()"),
             nat("node::PerIsolatePlatformData::RunForegroundTask(std::unique_ptr<v8::Task, "
                 "std::default_delete<v8::Task> >)"),
             nat("node::PerIsolatePlatformData::FlushForegroundTasksInternal()"),
             nat("node::PerIsolatePlatformData::FlushTasks(uv_async_s*)"),
             nat("uv__async_io.part.0"),
             nat("uv__io_poll")};
  Result r = classify(s + main_loop(Phase::kPoll));
  CHECK(r.phase == "poll");
  CHECK(r.activity == "gc");
  // GC triggered by an allocation in JS: gc beats js, the phase is the callback's.
  Stack alloc = {nat("v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, "
                     "v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)"),
                 nat("v8::internal::HeapAllocator::AllocateRawWithLightRetrySlowPath(int, "
                     "v8::internal::AllocationType, v8::internal::AllocationOrigin, v8::internal::AllocationAlignment)"),
                 nat("v8::internal::Runtime_AllocateInYoungGeneration(int, unsigned long*, v8::internal::Isolate*)"),
                 bi("Builtins_CEntry_Return1_ArgvOnStack_NoBuiltinExit"), js("hotAlloc")};
  Result a = classify(alloc + kTimers + main_loop(Phase::kTimers));
  CHECK(a.phase == "timers");
  CHECK(a.activity == "gc");
}

TEST_CASE("classify: concurrent GC on a V8 platform thread", "[loop][classifier]") {
  Stack s = {nat("v8::internal::ConcurrentMarking::RunMajor(v8::JobDelegate*, v8::base::EnumSet<"
                 "v8::internal::CodeFlushMode, int>, unsigned int, bool)"),
             nat("v8::internal::ConcurrentMarking::JobTaskMajor::Run(v8::JobDelegate*)"),
             nat("v8::platform::DefaultJobWorker::Run()"),
             nat("node::(anonymous namespace)::PlatformWorkerThread(void*)"),
             libc("start_thread"),
             libc("clone3")};
  Result r = classify(s, /*main_thread=*/false);
  CHECK(r.role == "v8-platform");
  CHECK(r.phase == "outside-loop");
  CHECK(r.activity == "gc");
  // Waiting for work on the platform thread.
  Result w = classify(Stack{kern("futex_wait"), libc("__futex_abstimed_wait_common"), libc("pthread_cond_wait"),
                            nat("uv_cond_wait"),
                            nat("node::TaskQueue<v8::Task>::BlockingPop()"),
                            nat("node::(anonymous namespace)::PlatformWorkerThread(void*)"), libc("start_thread"),
                            libc("clone3")},
                      false);
  CHECK(w.role == "v8-platform");
  CHECK(w.activity == "idle-wait");
}

TEST_CASE("classify: readFileSync is sync-io in the phase of its callback", "[loop][classifier]") {
  Stack sync = kReadSyscall + Stack{nat("uv_fs_read"), nat("node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)")} +
               kApiCall + Stack{js("tryReadSync"), js("readFileSync"), js("hotSyncRead")} + kTimers +
               main_loop(Phase::kTimers);
  Result r = classify(sync);
  CHECK(r.phase == "timers");
  CHECK(r.activity == "sync-io");
  // readFileSync(path, 'utf8') in node 20: ReadFileUtf8 calls uv_fs_* synchronously; the string
  // copy after the read is still inside ReadFileUtf8.
  Stack utf8 = Stack{libc("__memmove_avx_unaligned_erms"),
                     nat("v8::internal::Factory::NewStringFromUtf8(v8::base::Vector<char const> const&, "
                         "v8::internal::AllocationType)"),
                     nat("v8::String::NewFromUtf8(v8::Isolate*, char const*, v8::NewStringType, int)"),
                     nat("node::fs::ReadFileUtf8(v8::FunctionCallbackInfo<v8::Value> const&)")} +
               kApiCall + Stack{js("readFileSync"), js("hotSyncRead")} + kTimers + main_loop(Phase::kTimers);
  CHECK(classify(utf8).activity == "sync-io");
}

TEST_CASE("classify: an async fs request only submits work: not sync-io", "[loop][classifier]") {
  Stack submit = Stack{libc("pthread_cond_signal"), nat("uv_cond_signal"), nat("uv__work_submit"), nat("uv_fs_read"),
                       nat("node::fs::Read(v8::FunctionCallbackInfo<v8::Value> const&)")} +
                 kApiCall + Stack{js("read"), js("hotAsyncRead")} + kTimers + main_loop(Phase::kTimers);
  Result r = classify(submit);
  CHECK(r.phase == "timers");
  CHECK(r.activity == "native");
  // Its completion runs in poll (uv__work_done), also not sync-io.
  Stack done = Stack{js("hotReadCallback")} + kJsEntry +
               Stack{nat("node::fs::FSReqCallback::Resolve(v8::Local<v8::Value>)"),
                     nat("node::fs::AfterInteger(uv_fs_s*)"), nat("uv__fs_done"), nat("uv__work_done"),
                     nat("uv__async_io.part.0"), nat("uv__io_poll")} +
               main_loop(Phase::kPoll);
  Result d = classify(done);
  CHECK(d.phase == "poll");
  CHECK(d.activity == "js");
}

TEST_CASE("classify: spawnSync's private loop keeps the outer loop's phase and is sync-io", "[loop][classifier]") {
  Stack inner_loop = {nat("uv__io_poll"), uv_run(Phase::kPoll),
                      nat("node::SyncProcessRunner::TryInitializeAndRunLoop(v8::Local<v8::Value>)"),
                      nat("node::SyncProcessRunner::Run(v8::Local<v8::Value>)"),
                      nat("node::SyncProcessRunner::Spawn(v8::FunctionCallbackInfo<v8::Value> const&)")};
  Stack outer = kApiCall + Stack{js("spawnSync"), js("execFileSync"), js("hotSpawn")} + kCheck +
                main_loop(Phase::kCheck);
  SECTION("blocked in the inner epoll_pwait") {
    Result r = classify(Stack{kern("do_epoll_wait"), libc("epoll_pwait")} + inner_loop + outer);
    CHECK(r.phase == "check");
    CHECK(r.activity == "sync-io");
  }
  SECTION("handling the child's output inside the inner loop") {
    Result r = classify(Stack{libc("__memmove_avx_unaligned_erms"),
                              nat("node::SyncProcessStdioPipe::OnRead(uv_buf_t const*, unsigned long)"),
                              nat("uv__read"), nat("uv__stream_io")} +
                        inner_loop + outer);
    CHECK(r.phase == "check");
    CHECK(r.activity == "sync-io");
  }
  SECTION("setting up the child, before its loop runs") {
    Result r = classify(Stack{libc("__libc_fork"), nat("uv_spawn"),
                              nat("node::SyncProcessRunner::TryInitializeAndRunLoop(v8::Local<v8::Value>)"),
                              nat("node::SyncProcessRunner::Run(v8::Local<v8::Value>)"),
                              nat("node::SyncProcessRunner::Spawn(v8::FunctionCallbackInfo<v8::Value> const&)")} +
                        outer);
    CHECK(r.phase == "check");
    CHECK(r.activity == "sync-io");
  }
}

TEST_CASE("classify: the idle loop thread blocked in epoll_pwait", "[loop][classifier]") {
  SECTION("frame-pointer walk stops at epoll_pwait (one user frame)") {
    Result r = classify(Stack{libc("epoll_pwait")});
    CHECK(r.phase == "poll");
    CHECK(r.activity == "idle-wait");
    Result k = classify(Stack{kern("schedule"), kern("schedule_hrtimeout_range"), kern("do_epoll_wait"),
                              kern("__x64_sys_epoll_pwait"), kern("do_syscall_64"), libc("__GI_epoll_pwait")});
    CHECK(k.phase == "poll");
    CHECK(k.activity == "idle-wait");
  }
  SECTION("full stack (DWARF unwinding)") {
    Result r = classify(Stack{libc("epoll_pwait"), nat("uv__io_poll")} + main_loop(Phase::kPoll));
    CHECK(r.phase == "poll");
    CHECK(r.activity == "idle-wait");
  }
  SECTION("libuv <= 1.44: epoll_wait") {
    Result r = classify(Stack{libc("epoll_wait")});
    CHECK(r.phase == "poll");
    CHECK(r.activity == "idle-wait");
  }
  SECTION("a worker_threads loop idles the same way") {
    Builder b;
    b.sample(Stack{js("hotWorker")} + kCheck + Stack{uv_run(Phase::kCheck),
             nat("node::SpinEventLoopInternal(node::Environment*)"), nat("node::worker::Worker::Run()"),
             nat("node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)::{lambda(void*)#1}::_FUN(void*)"),
             libc("start_thread"), libc("clone3")}, kMainTid + 7);
    b.sample(Stack{libc("epoll_pwait")}, kMainTid + 7);
    loop::label_profile(b.p, kMainTid, b.phase_fn());
    CHECK(b.p.samples[1].str_label("role") == "worker-loop");
    CHECK(b.p.samples[1].str_label("phase") == "poll");
    CHECK(b.p.samples[1].str_label("activity") == "idle-wait");
  }
}

TEST_CASE("classify: libuv threadpool thread", "[loop][classifier]") {
  Result r = classify(kReadSyscall + Stack{nat("uv__fs_work"), nat("worker"), libc("start_thread"), libc("clone3")},
                      false);
  CHECK(r.role == "libuv-pool");
  CHECK(r.phase == "outside-loop");
  CHECK(r.activity == "native");  // real I/O, but on a pool thread: the loop does not wait for it
  Result w = classify(Stack{kern("futex_wait"), libc("__futex_abstimed_wait_common"), libc("pthread_cond_wait"),
                            nat("uv_cond_wait"), nat("worker"), libc("start_thread"), libc("clone3")},
                      false);
  CHECK(w.role == "libuv-pool");
  CHECK(w.activity == "idle-wait");
  // A function named `worker` deep in some other thread's stack does not make it a pool thread.
  Result o = classify(Stack{js("worker"), js("run"), js("main"), nat("a"), nat("b"), nat("c"), libc("start_thread"),
                            libc("clone3")},
                      false);
  CHECK(o.role == "other");
  // A busy pool thread need not show a libuv frame of its own (uv__queue_work tail-calls the job):
  // its `worker` is libuv's because another frame of the same module is libuv's (the main loop's).
  Builder b;
  b.sample(Stack{js("hot")} + kTimers + main_loop(Phase::kTimers), kMainTid);
  b.sample(Stack{nat("node::crypto::PBKDF2Traits::DeriveBits()"), nat("worker"), libc("start_thread"), libc("clone3")},
           kMainTid + 1);
  loop::label_profile(b.p, kMainTid, b.phase_fn());
  CHECK(b.p.samples[1].str_label("role") == "libuv-pool");
}

TEST_CASE("classify: a program's own thread function named `worker` is not libuv's pool", "[loop][classifier]") {
  // No libuv function anywhere in the module (a C program recorded as native code): role other.
  Result r = classify(Stack{nat("spin_in_worker"), nat("worker"), libc("start_thread"), libc("clone3")}, false);
  CHECK(r.role == "other");
}

TEST_CASE("classify: a worker_threads thread runs its own loop", "[loop][classifier]") {
  Stack s = Stack{js("hotWorker")} + kCheck +
            Stack{uv_run(Phase::kCheck), nat("node::SpinEventLoopInternal(node::Environment*)"),
                  nat("node::worker::Worker::Run()"),
                  nat("node::worker::Worker::StartThread(v8::FunctionCallbackInfo<v8::Value> const&)::{lambda(void*)#1}"
                      "::_FUN(void*)"),
                  libc("start_thread"), libc("clone3")};
  Result r = classify(s, false);
  CHECK(r.role == "worker-loop");
  CHECK(r.phase == "check");
  CHECK(r.activity == "js");
  // The worker's script before its loop starts: outside-loop, still the worker's role.
  Result boot = classify(Stack{js("hotWorkerBoot")} + kJsEntry +
                             Stack{nat("node::LoadEnvironment(node::Environment*, node::StartExecutionCallback)"),
                                   nat("node::worker::Worker::Run()"), libc("start_thread"), libc("clone3")},
                         false);
  CHECK(boot.role == "worker-loop");
  CHECK(boot.phase == "outside-loop");
}

TEST_CASE("classify: stripped binary (uv_run's call sites unknown)", "[loop][classifier]") {
  SECTION("no node callback to recover the phase from: unknown, activity still computed") {
    Stack pending = Stack{js("hotPending")} + kJsEntry +
                    Stack{nat("node::MakeLibuvRequestCallback<uv_shutdown_s, void (*)(uv_shutdown_s*, int)>::Wrapper("
                              "uv_shutdown_s*, int)")} +
                    main_loop(Phase::kPending);
    Result r = classify(pending, true, &kStripped);
    CHECK(r.phase == "unknown");
    CHECK(r.activity == "js");
    Stack sync = kReadSyscall + Stack{nat("uv_fs_read")} + kApiCall + Stack{js("hotSyncRead")} + kJsEntry +
                 Stack{nat("node::MakeLibuvRequestCallback<uv_shutdown_s, void (*)(uv_shutdown_s*, int)>::Wrapper("
                           "uv_shutdown_s*, int)")} +
                 main_loop(Phase::kPending);
    CHECK(classify(sync, true, &kStripped).activity == "sync-io");
    CHECK(classify(sync, true, &kStripped).phase == "unknown");
  }
  SECTION("a node callback that only one phase runs gives the phase") {
    CHECK(classify(Stack{js("hotTimers")} + kTimers + main_loop(Phase::kTimers), true, &kStripped).phase == "timers");
    CHECK(classify(Stack{js("hotCheck")} + kCheck + main_loop(Phase::kCheck), true, &kStripped).phase == "check");
    Result gc = classify(Stack{nat("v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, "
                                   "v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)"),
                               nat("v8::internal::MinorGCJob::Task::RunInternal()"),
                               nat("node::PerIsolatePlatformData::FlushForegroundTasksInternal()"),
                               nat("node::PerIsolatePlatformData::FlushTasks(uv_async_s*)"),
                               nat("uv__async_io.part.0"), nat("uv__io_poll")} +
                             main_loop(Phase::kPoll),
                         true, &kStripped);
    CHECK(gc.phase == "poll");
    CHECK(gc.activity == "gc");
  }
  SECTION("no phase function at all") {
    loop::UvRunPhaseFn none;
    Result r = classify(Stack{js("hotPending"), nat("node::MakeLibuvRequestCallback<uv_shutdown_s, void (*)("
                                                     "uv_shutdown_s*, int)>::Wrapper(uv_shutdown_s*, int)")} +
                            main_loop(Phase::kPending),
                        true, &none);
    CHECK(r.phase == "unknown");
    CHECK(r.activity == "js");
  }
}

TEST_CASE("classify: outside the loop", "[loop][classifier]") {
  SECTION("bootstrap: the main module runs before uv_run") {
    Result r = classify(Stack{js("hotBoot"), js("Module._compile")} + kJsEntry +
                        Stack{nat("node::StartExecution(node::Environment*, char const*)"),
                              nat("node::LoadEnvironment(node::Environment*, node::StartExecutionCallback)"),
                              nat("node::NodeMainInstance::Run()"), nat("node::Start(int, char**)"),
                              libc("__libc_start_call_main"), libc("__libc_start_main"), nat("_start")});
    CHECK(r.phase == "outside-loop");
    CHECK(r.activity == "js");
  }
  SECTION("process start, before node::Start") {
    Result r = classify(Stack{nat("node::InitializeOncePerProcessInternal(std::vector<std::__cxx11::basic_string<"
                                  "char, std::char_traits<char>, std::allocator<char> >, std::allocator<"
                                  "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > "
                                  "> const&, node::ProcessInitializationFlags::Flags)"),
                              nat("main"), libc("__libc_start_call_main")});
    CHECK(r.phase == "outside-loop");
    CHECK(r.activity == "native");
  }
  SECTION("a stack the unwinder cut short is not claimed for any phase") {
    Result r = classify(Stack{libc("_int_malloc"), unnamed()});
    CHECK(r.phase == "unknown");
    CHECK(r.activity == "native");
  }
}

TEST_CASE("frames_of: inlined frames expand innermost first, leaf and jit flags", "[loop][classifier]") {
  Builder b;
  uint64_t f_pending = b.function("uv__run_pending", "uv__run_pending");
  uint64_t f_run = b.function("uv_run", "uv_run");
  profile::Location inl;
  inl.mapping_id = 1;
  inl.address = 0x18ac83c;
  inl.lines = {{f_pending, 841, 0}, {f_run, 437, 0}};
  b.p.locations.push_back(inl);
  uint32_t inl_id = b.p.locations.size();
  profile::Sample s;
  s.location_ids = {static_cast<uint32_t>(b.location(js("hotPending"))), inl_id};
  s.values = {1, 1};
  b.p.samples.push_back(s);
  auto frames = loop::frames_of(b.p, b.p.samples.back());
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].name == "hotPending");
  CHECK(frames[0].leaf);
  CHECK(frames[0].jit);
  CHECK(frames[0].kind == profile::FrameKind::kJs);
  CHECK(frames[1].name == "uv__run_pending");
  CHECK(frames[2].name == "uv_run");
  CHECK_FALSE(frames[1].leaf);
  CHECK_FALSE(frames[2].jit);
  CHECK(frames[1].location == frames[2].location);
  // An unknown location (no lines) still yields a frame, with no name.
  profile::Sample u;
  u.location_ids = {static_cast<uint32_t>(b.location(unnamed_jit())), 999999 /* dangling id: skipped */};
  auto uf = loop::frames_of(b.p, u);
  REQUIRE(uf.size() == 1);
  CHECK(uf[0].name.empty());
  CHECK(uf[0].jit);
}

TEST_CASE("label_profile: roles per thread, labels replaced, loop summary", "[loop][classifier]") {
  Builder b;
  const int64_t pool = kMainTid + 1, platform = kMainTid + 2, worker = kMainTid + 3, other = kMainTid + 4;
  // main thread: timers JS x5, check JS x3, idle x2, a truncated stack x1, the stripped... not here
  b.sample(Stack{js("hotTimers")} + kTimers + main_loop(Phase::kTimers), kMainTid, 5);
  b.sample(Stack{js("hotCheck")} + kCheck + main_loop(Phase::kCheck), kMainTid, 3);
  b.sample(Stack{libc("epoll_pwait")}, kMainTid, 2);
  b.sample(Stack{libc("_int_free"), unnamed()}, kMainTid, 1);
  // a pool thread: its first sample is truncated (role "other" alone), its second is complete
  b.sample(Stack{libc("read"), unnamed()}, pool, 4);
  b.sample(kReadSyscall + Stack{nat("uv__fs_work"), nat("worker"), libc("start_thread"), libc("clone3")}, pool, 6);
  b.sample(Stack{nat("v8::internal::Sweeper::SweeperJob::Run(v8::JobDelegate*)"),
                 nat("v8::platform::DefaultJobWorker::Run()"),
                 nat("node::(anonymous namespace)::PlatformWorkerThread(void*)"), libc("start_thread")},
           platform, 2);
  b.sample(Stack{js("hotWorker")} + kCheck +
               Stack{uv_run(Phase::kCheck), nat("node::SpinEventLoopInternal(node::Environment*)"),
                     nat("node::worker::Worker::Run()"), libc("start_thread"), libc("clone3")},
           worker, 7);
  b.sample(Stack{libc("poll"), nat("uv__io_poll_inspector_whatever"), libc("start_thread")}, other, 1);
  // Stale labels from an earlier pass are replaced, not duplicated.
  b.p.samples.edit(0, [](profile::Sample& s) {
    s.labels.push_back(profile::Label{"phase", "close", 0, "", false});
    s.labels.push_back(profile::Label{"activity", "gc", 0, "", false});
  });

  loop::LabelSummary sum = loop::label_profile(b.p, kMainTid, b.phase_fn());
  auto label = [&](size_t i, const char* key) { return std::string(b.p.samples[i].str_label(key)); };
  auto count = [&](size_t i, const char* key) {
    size_t n = 0;
    for (const auto& l : b.p.samples[i].labels) n += l.key == key;
    return n;
  };
  CHECK(label(0, "phase") == "timers");
  CHECK(label(0, "activity") == "js");
  CHECK(label(0, "role") == "main-loop");
  CHECK(count(0, "phase") == 1);
  CHECK(count(0, "activity") == 1);
  CHECK(count(0, "role") == 1);
  CHECK(b.p.samples[0].num_label("tid") == kMainTid);  // other labels kept
  CHECK(label(0, "thread") == "node");
  CHECK(label(1, "phase") == "check");
  CHECK(label(2, "phase") == "poll");
  CHECK(label(2, "activity") == "idle-wait");
  CHECK(label(3, "phase") == "unknown");
  CHECK(label(4, "role") == "libuv-pool");  // inherited from the thread's complete stack
  CHECK(label(4, "phase") == "outside-loop");
  CHECK(label(5, "role") == "libuv-pool");
  CHECK(label(6, "role") == "v8-platform");
  CHECK(label(6, "activity") == "gc");
  CHECK(label(7, "role") == "worker-loop");
  CHECK(label(7, "phase") == "check");
  CHECK(label(8, "role") == "other");
  CHECK(label(8, "phase") == "outside-loop");
  // Loop samples (sample values, not stacks): main 5+3+2+1, worker 7; unknown: the truncated one.
  CHECK(sum.loop_samples == 18);
  CHECK(sum.unknown_phase == 1);
}
