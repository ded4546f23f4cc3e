// loopperf record against real node processes, checked with Google's pprof.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const { cpuSeconds } = lp;

// Relative tolerance of spinA + spinB samples against 999 Hz x their 1.5 s of CPU (measured).
const ALIASING_SAMPLES = 0.15;  // 6 runs on the loaded 2-core VM: 1408-1518 samples (-6% to +1.3%)
const mainSamples = (tr, pid) => tr.filter((t) => Number(t.labels.tid) === pid);
const hasFrame = (re) => (t) => t.frames.some((f) => re.test(f));

test('record -p: the hot JS function and uv_run are on the main thread, sample count matches rate', async () => {
  const t = await lp.startTarget('hot.js');
  const out = path.join(t.dir, 'hot.pb.gz');
  try {
    const cpuBefore = cpuSeconds(t.pid);
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '2s', '-o', out]);
    const cpu = cpuSeconds(t.pid) - cpuBefore;
    assert.strictEqual(r.status, 0, r.stderr);
    // Not "0 lost": on the loaded 2-core VM a sampling thread descheduled longer than its ring holds
    // (32 ms at 999 Hz) loses some (3 of 1874 seen here; docs/performance.md). The count is reported.
    const lost = r.stderr.match(/samples, \d+ threads, (\d+) lost/);
    assert.ok(lost, r.stderr);
    assert.match(lp.pprof(['-raw', out]), new RegExp(`loopperf:lost=${lost[1]}\\b`));
    assert.ok(lp.isAlive(t.pid), 'target must survive');
    const tr = lp.traces(out);
    const main = mainSamples(tr, t.pid);
    const total = main.reduce((a, x) => a + x.value, 0);
    // cpu-clock samples on-CPU time: one busy thread for 2 s at 999 Hz gives ~1998 samples when it
    // has a core to itself. On a loaded machine it gets less CPU, so compare with the CPU time it
    // really used (within 25%) and require that it was busy for most of the recording.
    const expected = 999 * cpu;
    assert.ok(cpu > 0.3, `the target should have been busy, used ${cpu}s CPU`);
    assert.ok(total > expected * 0.75 && total < expected * 1.25, `main-thread samples ${total}, expected ~${expected}`);
    if (cpu > 1.8) assert.ok(total > 1998 * 0.75 && total < 1998 * 1.25, `samples ${total} vs rate x duration`);
    const hot = lp.share(main, hasFrame(/^hotFunction$/));
    assert.ok(hot > 0.6, `hotFunction share ${hot}`);
    const inLoop = lp.share(main, hasFrame(/^uv_run$/));
    assert.ok(inLoop > 0.8, `uv_run share ${inLoop}`);
    assert.ok(main.every((x) => x.labels.thread === 'node'), 'thread label');
    const top = lp.pprof(['-top', '-nodecount=10', out]);
    assert.match(top, /hotFunction/);
  } finally {
    lp.stopTarget(t);
  }
});

test('record launch mode: JS names without flags, child exit status, no litter', async () => {
  const dir = lp.tmpdir('launch');
  const out = path.join(dir, 'launch.pb.gz');
  const r = await lp.loopperfAsync(['record', '-q', '-o', out, '--', 'node', path.join(lp.TARGETS, 'hot.js')], {
    cwd: dir, env: { ...process.env, DURATION_MS: '1500' },
  });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stderr, '', '-q prints nothing but errors');
  assert.match(r.stdout, /done true/);
  const tr = lp.traces(out);
  assert.ok(lp.share(tr, hasFrame(/^hotFunction$/)) > 0.5, 'hotFunction named through the perf map');
  assert.ok(lp.share(tr, hasFrame(/^uv_run$/)) > 0.7);
  const litter = fs.readdirSync(dir).filter((f) => f !== 'launch.pb.gz');
  assert.deepStrictEqual(litter, [], 'no isolate-*.log in the working directory');
  const pid = Number(lp.pprof(['-raw', out]).match(/loopperf:target\.pid=(\d+)/)[1]);
  assert.ok(!fs.existsSync(`/tmp/perf-${pid}.map`), 'the perf map we turned on is removed');

  const fail = lp.loopperf(['record', '-q', '-o', path.join(dir, 'x.pb.gz'), '--', 'node', '-e', 'process.exit(3)']);
  assert.strictEqual(fail.status, 3, 'exits with the child status');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('SIGINT, SIGTERM and SIGHUP end a recording early and still write the profile', async () => {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const t = await lp.startTarget('hot.js');
    const out = path.join(t.dir, 'sig.pb.gz');
    try {
      let child;
      const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-o', out], { onSpawn: (c) => { child = c; } });
      // Stop once it is sampling (perf_event fds open) and the target has had 0.2 s of CPU since:
      // ~200 samples at 999 Hz, however loaded the machine.
      await lp.waitForSampling(child.pid);
      await lp.waitForCpu(t.pid, 0.2);
      child.kill(sig);
      const r = await done;
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /interrupted/);
      const main = lp.traces(out).filter((x) => Number(x.labels.tid) === t.pid);
      assert.ok(main.reduce((a, x) => a + x.value, 0) >= 100, 'the samples taken before the signal are in the profile');
      assert.ok(lp.isAlive(t.pid));
      assert.ok(['R', 'S'].includes(lp.procState(t.pid)), `target state ${lp.procState(t.pid)}`);
      assert.strictEqual(lp.tracerPid(t.pid), 0);
    } finally {
      lp.stopTarget(t);
    }
  }
});

// The launched child's pid: the one child of loopperf (/proc/PID/task/PID/children).
function launchedChild(lpPid) {
  return lp.until(() => {
    try { return Number(fs.readFileSync(`/proc/${lpPid}/task/${lpPid}/children`, 'utf8').trim().split(/\s+/)[0]) || 0; } catch { return 0; }
  }, `loopperf ${lpPid}'s child`);
}

test('launch mode: SIGTERM to loopperf is forwarded to the child; loopperf exits 128+15 and writes the profile', async () => {
  const dir = lp.tmpdir('forward');
  const out = path.join(dir, 'fwd.pb.gz');
  try {
    let child;
    const done = lp.loopperfAsync(['record', '-q', '-o', out, '--', 'node', path.join(lp.TARGETS, 'hot.js')],
      { cwd: dir, env: { ...process.env, DURATION_MS: '60000' }, onSpawn: (c) => { child = c; } });
    const node = await launchedChild(child.pid);
    await lp.waitForSampling(child.pid);
    await lp.waitForCpu(node, 0.2);
    child.kill('SIGTERM');
    const r = await done;
    assert.strictEqual(r.status, 128 + 15, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
    assert.ok(!lp.isAlive(node), 'the child got the SIGTERM');
    assert.ok(lp.traces(out).some((x) => x.frames.includes('hotFunction')), 'the profile is written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('launch mode through NODE_OPTIONS (not node itself): JS names, and the isolate logs V8 wrote are removed', () => {
  const dir = lp.tmpdir('nodeoptions');
  const out = path.join(dir, 'sh.pb.gz');
  try {
    // A shell that execs node: loopperf sees "sh", so it turns the perf map on through NODE_OPTIONS.
    const r = lp.loopperf(['record', '-q', '-o', out, '--', 'sh', '-c', 'exec "$0" "$1"', process.execPath, path.join(lp.TARGETS, 'hot.js')],
      { cwd: dir, env: { ...process.env, DURATION_MS: '800' } });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(lp.traces(out).some((x) => x.frames.includes('hotFunction')), 'JS names: the perf map was turned on');
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f !== 'sh.pb.gz'), [], 'no isolate-*.log left in the working directory');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a target that exits mid-recording still yields its profile, exit 0', async () => {
  const t = await lp.startTarget('hot.js', { env: { DURATION_MS: '800' } });
  const out = path.join(t.dir, 'exit.pb.gz');
  const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '30s', '-o', out]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /exited during the recording/);
  const tr = lp.traces(out);
  assert.ok(lp.share(tr, hasFrame(/^hotFunction$/)) > 0.3);
  lp.stopTarget(t);
});

test('threads born during the recording are picked up', async () => {
  const dir = lp.tmpdir('late');
  const start = path.join(dir, 'start');
  const t = await lp.startTarget('late_worker.js', { env: { START_FILE: start } });
  const out = path.join(t.dir, 'late.pb.gz');
  let child;
  const rec = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '2s', '-o', out], { onSpawn: (c) => { child = c; } });
  // Start the workers once record has opened its events for every thread the target has now
  // (its first thread scan is done): the workers are born after it.
  await lp.waitForSampling(child.pid, fs.readdirSync(`/proc/${t.pid}/task`).length);
  fs.writeFileSync(start, '1');
  const r = await rec;
  assert.strictEqual(r.status, 0, r.stderr);
  const tr = lp.traces(out);
  const workers = tr.filter((x) => Number(x.labels.tid) !== t.pid && x.frames.some((f) => /workerSpin/.test(f)));
  const tids = new Set(workers.map((x) => x.labels.tid));
  assert.strictEqual(tids.size, 2, `worker threads seen: ${[...tids]}`);
  lp.stopTarget(t);
  fs.rmSync(dir, { recursive: true, force: true });
});

// The shell's own code: its binary (dash, bash, busybox) by mapping, not by a substring of a name
// ("sh" is in finish_task_switch).
const SHELL_BINARY = /^(\/usr)?\/bin\/(dash|bash|sh|busybox)$/;

test('a process that is not node (attached with -p) gets a native profile with a note', async () => {
  const dir = lp.tmpdir('native');
  const out = path.join(dir, 'sh.pb.gz');
  const { spawn } = require('node:child_process');
  const sh = spawn('sh', ['-c', 'i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done'], { stdio: 'ignore' });
  try {
    const r = await lp.loopperfAsync(['record', '-p', String(sh.pid), '-d', '1s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /does not look like node: recording a native profile \(no JavaScript names or loop phases\)/);
    const inShell = lp.mappingShare(out, SHELL_BINARY);
    assert.ok(inShell > 0.5, `samples with a frame in the shell's own binary: ${inShell}`);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    assert.ok(rep.hints.some((h) => h.kind === 'not-node'), JSON.stringify(rep.hints));
  } finally {
    sh.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});


test('a node without a perf map, names from the map alone (--js-names map): the summary says so and how to get JS names; report hints too', async () => {
  const t = await lp.startTarget('hot.js', { nodeArgs: [] });
  const out = path.join(t.dir, 'nomap.pb.gz');
  // An earlier node with this pid may have left its map (pids wrap; node never removes it): that
  // one would be reported as stale rather than missing.
  fs.rmSync(`/tmp/perf-${t.pid}.map`, { force: true });
  try {
    // By default the heap names the frames (js_names.test.js): the map alone shows the old advice.
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '1s', '--js-names', 'map', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /no perf map found for pid \d+: JavaScript frames show as \[unknown\]/);
    assert.match(r.stderr, /--perf-basic-prof/);
    const tr = lp.traces(out);
    assert.ok(lp.share(tr, hasFrame(/^\[unknown\] \[jit\]$/)) > 0.5, 'unnamed JIT frames stay visible');
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    assert.ok(rep.hints.some((h) => h.kind === 'missing-js-names' && /--perf-basic-prof/.test(h.text)));
  } finally {
    lp.stopTarget(t);
  }
});

// Launched directly, the spinning thread is the launched process's first task, whose period is
// re-drawn every 32 samples. Started by a parent, it is a task of the tree forked later, sampled
// at the period drawn when it was forked (fixed for its life, sample/tree_sampler.h) and counted
// in units of the nominal period: its count must be as true, and its share too unless its drawn
// period falls close to a small fraction of the cycle (k/m x 1001 µs for small m; 2 of 100 runs on
// the 2-core VM, 2026-12-05, docs/record.md "Sampling periods"). So the child gets a second run
// when the first misses: a fixed period (the nominal, or any) misses every time, a drawn one
// rarely twice (~0.1%).
for (const [how, argv, attempts] of [
  ['launched', (script) => ['node', script], 1],
  ['a child of the launched process', (script) => ['node', '-e',
    `require('child_process').execFileSync(process.execPath, [${JSON.stringify(script)}], { stdio: 'inherit' })`], 2],
]) {
  test(`periodic work in step with the sampling rate gets its true share (periods are jittered): ${how}`, () => {
    // spinA takes 25% of every 1001 µs cycle (CPU time, by construction), the period of 999 Hz.
    // With a fixed period every sample lands at the same point of the cycle (spinA ~0% or ~100%).
    const dir = lp.tmpdir('aliasing');
    const out = path.join(dir, 'aliasing.pb.gz');
    try {
      const misses = [];
      for (let attempt = 0; attempt < attempts; attempt++) {
        const r = lp.loopperf(['record', '-q', '-F', '999', '-o', out, '--', ...argv(path.join(lp.TARGETS, 'aliasing.js'))]);
        assert.strictEqual(r.status, 0, r.stderr);
        const tr = lp.traces(out);
        const a = tr.filter(hasFrame(/^spinA$/)).reduce((n, t) => n + t.value, 0);
        const b = tr.filter(hasFrame(/^spinB$/)).reduce((n, t) => n + t.value, 0);
        // The spin loop runs for CPU_MS = 1.5 s of its own CPU time (aliasing.js reads its CPU clock),
        // however loaded the machine: at 999 Hz that is ~1500 samples (measured spread: ALIASING_SAMPLES).
        assert.ok(Math.abs(a + b - 999 * 1.5) <= ALIASING_SAMPLES * 999 * 1.5, `spinA ${a} + spinB ${b} samples for 1.5 s of CPU`);
        const share = a / (a + b);
        // Five binomial standard deviations (~1.1 pp at 1500 samples): a fixed period lands every
        // sample at the same point of the cycle (share ~0 or ~1).
        const sd = Math.sqrt(0.25 * 0.75 / (a + b));
        if (Math.abs(share - 0.25) < 5 * sd) return;
        misses.push(`spinA share ${share.toFixed(3)} (${a} of ${a + b}), true 0.25 ± ${(5 * sd).toFixed(3)}`);
      }
      assert.fail(misses.join('; '));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

