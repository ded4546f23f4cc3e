// Documented behaviour that had no test (issue 21, items 7 and 8): record's 1024-thread cap, wall
// sampling of worker_threads loops, the phases-unknown and lost hints, dump's handling of signals
// (handed back at detach, SIGINT held during a stop), its refusal when another tracer is attached,
// the JSON unwind_end field, and the loss at 999 Hz x 16 threads.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawn, spawnSync } = require('node:child_process');
const lp = require('./lib');

const NATIVE = process.env.NATIVE_DIR || path.resolve(path.dirname(lp.LOOPPERF), 'tests/native');
const dir = lp.tmpdir('documented');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const share = lp.share;
const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

// Starts a native test program with READY_FILE; resolves once it has written it.
async function startNative(name, args = [], env = {}) {
  const ready = path.join(lp.tmpdir('native'), 'ready');
  const child = spawn(path.join(NATIVE, name), args, { env: { ...process.env, READY_FILE: ready, ...env }, stdio: 'ignore' });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
  await lp.waitForFileAsync(ready);
  return { child, pid: child.pid, dir: path.dirname(ready) };
}

function meta(file, key) {
  const m = lp.pprof(['-raw', file]).match(new RegExp(`loopperf:${key.replace(/\./g, '\\.')}=(\\S*)`));
  return m ? m[1] : undefined;
}

// --- record ---

// 1100 sleeping threads + the main one: 1024 followed, 77 counted as skipped. loopperf needs one fd
// per followed thread (1024) plus its own. Run at the common default soft `ulimit -n` of 1024 (set in
// the spawned shell), with a hard limit above it: loopperf raises its soft limit to the hard one
// (before that fix, the threads took every fd and the profile "could not be saved anywhere", exit 5).
// --unwind fp keeps the rings at 64 KiB per thread (auto would map 512 KiB each).
const hardNofile = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim().replace('unlimited', '1e9'));
test('record: at most 1024 threads are followed, the rest are counted in threads_skipped (soft ulimit -n 1024)', { skip: (process.getuid() !== 0 && 'needs root: 1024 rings of 64 KiB exceed perf_event_mlock_kb') || (hardNofile < 2048 && `hard ulimit -n ${hardNofile} < 2048`) }, async () => {
  const t = await startNative('many_threads', ['1100']);
  try {
    assert.strictEqual(fs.readdirSync(`/proc/${t.pid}/task`).length, 1101);
    const out = path.join(dir, 'cap.pb.gz');
    const r = spawnSync('sh', ['-c', 'ulimit -Sn 1024 && exec "$0" "$@"', lp.LOOPPERF, 'record', '-p', String(t.pid), '-d', '500ms', '--unwind', 'fp', '-o', out],
      { encoding: 'utf8', timeout: 120000 });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(meta(out, 'threads'), '1024');
    assert.strictEqual(meta(out, 'threads_skipped'), '77');
    assert.match(r.stderr, /, 1024 threads, /);
  } finally {
    t.child.kill('SIGKILL');
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
});

// A worker busy 5 ms then waiting 20 ms in Atomics.wait, over and over: its CPU samples make it
// known as a loop (docs/record.md: "once they are recognised from their stacks"), then it is
// wall-sampled like the main loop, waits included. Attached with -p and the target left running:
// wall.threads lists the loop threads alive at the end (a worker that ended is dropped from it).
test('record --mode wall: a worker_threads loop is wall-sampled too (wall.threads, role worker-loop, clock wall)', async () => {
  const script = path.join(dir, 'wall_worker.js');
  fs.writeFileSync(script, [
    "const fs = require('node:fs');",
    "const { Worker } = require('node:worker_threads');",
    'const w = new Worker(`',
    "  const fs = require('node:fs');",
    "  const { parentPort } = require('node:worker_threads');",
    "  parentPort.postMessage(fs.readlinkSync('/proc/thread-self').split('/').pop());",
    '  const cell = new Int32Array(new SharedArrayBuffer(4));',
    '  function workerTick() {',
    '    const end = Date.now() + 5; let a = 0;',
    '    while (Date.now() < end) a += Math.sqrt(a + 1);',
    '    Atomics.wait(cell, 0, 0, 20);',
    '    setImmediate(workerTick);',
    '  }',
    '  setImmediate(workerTick);',
    '`, { eval: true });',
    "w.on('message', (tid) => fs.writeFileSync(process.env.READY_FILE, tid));",
  ].join('\n'));
  const t = await lp.startTarget(path.relative(lp.TARGETS, script));
  try {
    const tid = fs.readFileSync(t.ready, 'utf8').trim();
    const out = path.join(dir, 'wall_worker.pb.gz');
    const r = await lp.loopperfAsync(['record', '-q', '--mode', 'wall', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(meta(out, 'wall.threads').split(',').includes(tid), `wall.threads=${meta(out, 'wall.threads')}, worker ${tid}`);
    const worker = lp.traces(out).filter((x) => x.labels.tid === tid);
    const wall = worker.filter((x) => x.labels.clock === 'wall');
    assert.ok(wall.length > 0, 'the worker has wall samples');
    assert.ok(wall.every((x) => x.labels.role === 'worker-loop'), 'its wall samples have role worker-loop');
    // Waiting is seen only by wall samples: the worker's Atomics.wait is there, as blocked.
    assert.ok(wall.some((x) => x.labels.activity === 'blocked'), 'a blocked wall sample of the worker');
  } finally {
    lp.stopTarget(t);
  }
});

// docs/record.md: `blocked` is "any other wait (Atomics.wait, a lock, ...)". Atomics.wait has its test
// (options.test.js); a lock needs native code: a tiny addon whose lockContended(ms) starts a thread
// that holds a pthread mutex for ms while the loop thread waits for it (a futex wait).
const LOCK_ADDON = `
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int held, hold_ms;
static void* holder(void* arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  __atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
  usleep(hold_ms * 1000);
  pthread_mutex_unlock(&m);
  return 0;
}
static napi_value lock_contended(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, 0, 0);
  napi_get_value_int32(env, argv[0], &hold_ms);
  __atomic_store_n(&held, 0, __ATOMIC_SEQ_CST);
  pthread_t t;
  pthread_create(&t, 0, holder, 0);
  while (!__atomic_load_n(&held, __ATOMIC_SEQ_CST)) sched_yield();
  pthread_mutex_lock(&m);
  pthread_mutex_unlock(&m);
  pthread_join(t, 0);
  return 0;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "lockContended", NAPI_AUTO_LENGTH, lock_contended, 0, &fn);
  napi_set_named_property(env, exports, "lockContended", fn);
  return exports;
}
`;
test('wall mode: a loop waiting for a contended mutex (futex) is "blocked", syscall futex, in phase timers',
  { skip: (!fs.existsSync('/usr/include/node/node_api.h') && 'no node_api.h') || (!has('cc') && 'no C compiler') }, () => {
    fs.writeFileSync(path.join(dir, 'lock.c'), LOCK_ADDON);
    const cc = spawnSync('cc', ['-O1', '-shared', '-fPIC', '-pthread', '-I/usr/include/node', '-o', 'lock.node', 'lock.c'], { cwd: dir, encoding: 'utf8' });
    assert.strictEqual(cc.status, 0, cc.stderr);
    const script = path.join(dir, 'lock.js');
    fs.writeFileSync(script, [
      `const addon = require(${JSON.stringify(path.join(dir, 'lock.node'))});`,
      'setInterval(function waitForLock() { addon.lockContended(30); }, 1);',
      'setTimeout(() => process.exit(0), 1500);',
    ].join('\n'));
    const out = path.join(dir, 'lock.pb.gz');
    const r = lp.loopperf(['record', '-q', '--mode', 'wall', '-o', out, '--', process.execPath, script], { cwd: dir });
    assert.strictEqual(r.status, 0, r.stderr);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = rep.threads.find((th) => th.role === 'main-loop');
    // Measured in 3 recordings on the loaded 2-core VM (load ~14): blocked 0.887-0.913 of the main
    // thread's wall samples, timers 0.856-0.882; of the blocked ones 93.5-97.7% in futex (the rest is
    // the sched_yield spin until the holder has the lock, shown as "syscall 24").
    assert.ok(main.activities.blocked > 0.5, `activities ${JSON.stringify(main.activities)}`);
    assert.ok(main.phases.timers > 0.5, `phases ${JSON.stringify(main.phases)}`);
    const blocked = lp.traces(out).filter((x) => x.labels.role === 'main-loop' && x.labels.activity === 'blocked');
    assert.ok(share(blocked, (x) => x.labels.syscall === 'futex') > 0.7, 'blocked samples wait in futex');
    assert.ok(blocked.some((x) => x.frames.some((f) => /^lock_contended$/.test(f))), 'under the addon');
  });

// --- report hints ---

test('phases-unknown: a stripped node copy gives the record warning, phase_problem and the report hint', { skip: !has('strip') && 'no strip' }, () => {
  const node = path.join(dir, 'node-stripped');
  fs.copyFileSync(process.execPath, node);
  fs.chmodSync(node, 0o755);
  const s = spawnSync('strip', ['--strip-all', node], { encoding: 'utf8' });
  assert.strictEqual(s.status, 0, s.stderr);
  const out = path.join(dir, 'stripped.pb.gz');
  const r = lp.loopperf(['record', '-o', out, '--', node, '-e',
    'const end = Date.now() + 600; setTimeout(function spin() { while (Date.now() < end); }, 1);'], { cwd: dir });
  fs.rmSync(node, { force: true });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: uv_run's call sites are unknown, so loop phases were recovered from node's own callbacks/);
  assert.match(lp.pprof(['-raw', out]), /loopperf:phase_problem=/);
  const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
  const hint = rep.hints.find((h) => h.kind === 'phases-unknown');
  assert.ok(hint, JSON.stringify(rep.hints));
  assert.match(hint.text, /^loop phases are unknown: .*node-stripped: uv_run's calls to .* were not found/);
  assert.match(lp.loopperf(['report', out]).stdout, /loop phases are unknown/);
});

// Loss cannot be made to happen on demand (it comes from loopperf being descheduled on a loaded
// machine: see the 16-thread test below), so the profile is a real recording whose "lost" comment is
// rewritten in place with as many digits ("lost=0" -> "lost=7"), so the protobuf's string lengths
// stay right.
test('lost: a profile with lost samples gets the lost hint and its count in the header', () => {
  const src = path.join(dir, 'hot.pb.gz');
  const r = lp.loopperf(['record', '-q', '-o', src, '--', process.execPath, path.join(lp.TARGETS, 'hot.js')],
    { env: { ...process.env, DURATION_MS: '400' }, cwd: dir });
  assert.strictEqual(r.status, 0, r.stderr);
  const raw = zlib.gunzipSync(fs.readFileSync(src));
  const text = raw.toString('latin1');
  // The comment is a string of the string table: its length is the (one-byte varint) before it.
  const key = 'loopperf:lost=';
  const at = text.indexOf(key);
  assert.ok(at > 0 && text.indexOf(key, at + 1) < 0, 'one lost comment');
  const len = raw[at - 1];
  assert.ok(len < 128 && len > key.length, `string length ${len}`);
  const was = text.slice(at + key.length, at + len);
  assert.match(was, /^\d+$/);
  const now = (was === '7'.repeat(was.length) ? '8' : '7').repeat(was.length);
  raw.write(now, at + key.length, 'latin1');
  const lost = path.join(dir, 'lost.pb.gz');
  fs.writeFileSync(lost, zlib.gzipSync(raw));
  const before = JSON.parse(lp.loopperf(['report', src, '--format', 'json']).stdout);
  assert.strictEqual(before.recording.lost, Number(was));
  assert.strictEqual(before.hints.some((h) => h.kind === 'lost'), Number(was) > 0);
  const rep = JSON.parse(lp.loopperf(['report', lost, '--format', 'json']).stdout);
  assert.strictEqual(rep.recording.lost, Number(now));
  const hint = rep.hints.find((h) => h.kind === 'lost');
  assert.ok(hint, JSON.stringify(rep.hints));
  assert.strictEqual(hint.text, `${now} samples were lost: record at a lower rate (-F)`);
  assert.match(lp.loopperf(['report', lost]).stdout, new RegExp(`${now} samples were lost: record at a lower rate`));
});

// --- dump ---

// Starts `loopperf dump` until one of them is seen holding a thread of pid in its ptrace stop, then
// calls during(dumpChild) at once (synchronously). Returns {caught, result} of that dump.
async function catchStop(pid, during, args = []) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const child = spawn(lp.LOOPPERF, ['dump', '-p', String(pid), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    const exited = new Promise((r) => child.on('exit', (status, signal) => r({ status, signal })));
    let caught = 0, acted;
    const deadline = Date.now() + 5000;
    while (!caught && Date.now() < deadline) {
      caught = lp.waitForTracedStop(pid, 1);
      if (caught) acted = during(child, caught);
      else {
        try { if (fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1][0] === 'Z') break; } catch { break; }
      }
    }
    const res = await exited;
    if (caught && acted !== false) return { caught, ...res, stdout: () => stdout };
  }
  return { caught: 0 };
}

test('dump: a signal sent to a thread while it is stopped is delivered after the detach, once', async () => {
  const countFile = path.join(dir, 'usr1.count');
  const t = await startNative('sig_target', [], { COUNT_FILE: countFile });
  try {
    // The target has one thread: a process-directed SIGUSR1 sent while it is in the stop can only
    // wait for it. `acted` is false when the stop had already ended when the signal was sent.
    let sent = 0;
    const r = await catchStop(t.pid, () => {
      process.kill(t.pid, 'SIGUSR1');
      sent++;
      return lp.procState(t.pid) === 't';
    });
    assert.ok(r.caught, 'the target was seen in a ptrace stop when SIGUSR1 was sent');
    assert.strictEqual(r.status, 0);
    await lp.until(() => { try { return fs.readFileSync(countFile, 'utf8').trim() === String(sent); } catch { return false; } },
      `the handler to run ${sent} times`, 5000);
    assert.ok(lp.isAlive(t.pid), 'SIGUSR1 did not kill it (its handler got it)');
    assert.strictEqual(lp.tracerPid(t.pid), 0);
  } finally {
    t.child.kill('SIGKILL');
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
});

test('dump: SIGINT during a stop ends the dump after that thread\'s detach; the target is not left stopped', async () => {
  const t = await startNative('many_threads', ['50']);
  try {
    const r = await catchStop(t.pid, (child) => { child.kill('SIGINT'); });
    assert.ok(r.caught, 'a thread of the target was seen in a ptrace stop');
    assert.strictEqual(r.signal, 'SIGINT', `dump ended by SIGINT (status ${r.status})`);
    assert.strictEqual(r.stdout(), '', 'the dump was not completed');
    await lp.until(() => lp.procState(t.pid) === 'S', 'the target to sleep again', 5000);
    for (const tid of fs.readdirSync(`/proc/${t.pid}/task`)) {
      const st = fs.readFileSync(`/proc/${t.pid}/task/${tid}/status`, 'utf8');
      assert.match(st, /^TracerPid:\s+0$/m, `thread ${tid} untraced`);
      assert.doesNotMatch(st, /^State:\s+t/m, `thread ${tid} not stopped`);
    }
  } finally {
    t.child.kill('SIGKILL');
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
});

test('dump: refused, exit 4, when another tracer (strace) is attached; that tracer stays', { skip: !has('strace') && 'no strace' }, async () => {
  const t = await startNative('sig_target');
  const strace = spawn('strace', ['-p', String(t.pid), '-o', '/dev/null'], { stdio: 'ignore' });
  try {
    await lp.until(() => lp.tracerPid(t.pid) === strace.pid, 'strace to attach');
    const r = lp.loopperf(['dump', '-p', String(t.pid)]);
    assert.strictEqual(r.status, 4, r.stderr);
    assert.match(r.stderr, /cannot ptrace thread \d+: Operation not permitted/);
    assert.match(r.stderr, /another debugger \(gdb, strace\) may already be attached/);
    assert.strictEqual(r.stdout, '');
    assert.strictEqual(lp.tracerPid(t.pid), strace.pid, 'strace still traces it');
  } finally {
    strace.kill('SIGKILL');
    t.child.kill('SIGKILL');
    fs.rmSync(t.dir, { recursive: true, force: true });
  }
});

test('dump --json: unwind_end on every thread, one of the documented reasons; error empty for threads that were stopped', async () => {
  const t = await lp.startTarget('idle.js');
  try {
    const r = lp.loopperf(['dump', '-p', String(t.pid), '--json']);
    assert.strictEqual(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.ok(d.threads.length >= 5);
    const reasons = ['complete', 'fp', 'dwarf+fp', 'stack-copy-too-short', 'no-unwind-info', 'unknown-module', 'bad-frame', 'max-depth'];
    for (const th of d.threads) {
      assert.ok(reasons.includes(th.unwind_end), `thread ${th.tid}: unwind_end ${JSON.stringify(th.unwind_end)}`);
      assert.strictEqual(th.error, '', `thread ${th.tid}`);
      assert.ok(th.stopped_ns > 0);
    }
  } finally {
    lp.stopTarget(t);
  }
});

// --- item 8: "0 lost at 999 Hz x 16 threads" ---

test('record at 999 Hz of 16 busy threads: file, summary, warning and report agree on the lost count', async () => {
  const script = path.join(dir, 'busy16.js');
  fs.writeFileSync(script, [
    "const { Worker } = require('node:worker_threads');",
    "const fs = require('node:fs');",
    'let up = 0;',
    'for (let i = 0; i < 15; i++) {',
    "  const w = new Worker('const { parentPort } = require(\"node:worker_threads\"); parentPort.postMessage(1); let a = 0; for (;;) a += Math.sqrt(a + 1);', { eval: true });",
    "  w.on('message', () => { if (++up === 15) fs.writeFileSync(process.env.READY_FILE, String(process.pid)); });",
    '}',
    'let a = 0;',
    'setInterval(() => { const end = Date.now() + 50; while (Date.now() < end) a += Math.sqrt(a + 1); }, 1);',
  ].join('\n'));
  const t = await lp.startTarget(path.relative(lp.TARGETS, script));
  try {
    const out = path.join(dir, 'busy16.pb.gz');
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '3s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(Number(meta(out, 'threads')) >= 16, `threads=${meta(out, 'threads')}`);
    // docs/performance.md: 0 lost on the bench; on the 2-core VM shared with other jobs anything from
    // 0 (7 of 9 recordings) to 11 of 2448 and 171 of 2015 samples: a sampling thread descheduled
    // longer than its rings hold (32 ms at 999 Hz) loses some, so no bound is asserted here; what is
    // checked is that the file, the summary and the report agree on the count.
    const lost = Number(meta(out, 'lost')), samples = Number(meta(out, 'samples'));
    assert.ok(samples > 500, `samples=${samples}`);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    assert.strictEqual(rep.recording.lost, lost);
    assert.strictEqual(rep.hints.some((h) => h.kind === 'lost'), lost > 0, JSON.stringify(rep.hints));
    assert.strictEqual(/warning: \d+ samples were lost \(ring buffer full\)/.test(r.stderr), lost > 0, r.stderr);
    assert.match(r.stderr, new RegExp(`, ${lost} lost, `));
  } finally {
    lp.stopTarget(t);
  }
});
