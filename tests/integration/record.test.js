// loopperf record against real node processes, checked with Google's pprof.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

// CPU seconds a thread has used so far (utime + stime from /proc/PID/task/TID/stat).
function cpuSeconds(pid, tid = pid) {
  const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;  // clock ticks (USER_HZ = 100)
}

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
    assert.match(r.stderr, /samples, \d+ threads, 0 lost/);
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

test('SIGINT and SIGTERM end a recording early and still write the profile', async () => {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    const t = await lp.startTarget('hot.js');
    const out = path.join(t.dir, 'sig.pb.gz');
    try {
      const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-o', out], {
        onSpawn: (child) => {
          // Stop once it has sampled a while: the status line is not shown off a terminal, so poll
          // for the first refresh of the perf map instead of sleeping a fixed time.
          setTimeout(() => child.kill(sig), 700);
        },
      });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /interrupted/);
      assert.ok(lp.traces(out).length > 0);
      assert.ok(lp.isAlive(t.pid));
      assert.ok(['R', 'S'].includes(lp.procState(t.pid)), `target state ${lp.procState(t.pid)}`);
      assert.strictEqual(lp.tracerPid(t.pid), 0);
    } finally {
      lp.stopTarget(t);
    }
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
  const rec = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '2s', '-o', out]);
  // Give record its first thread scan, then start the workers.
  await new Promise((r) => setTimeout(r, 300));
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

test('a process that is not node gets a native profile with a note', async () => {
  const dir = lp.tmpdir('native');
  const out = path.join(dir, 'sh.pb.gz');
  const r = await lp.loopperfAsync(['record', '-d', '1s', '-o', out, '--', 'sh', '-c', 'i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done']);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(lp.pprof(['-top', out]), /dash|sh|libc/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a node without a perf map: the summary says so and how to get JS names; report hints too', async () => {
  const t = await lp.startTarget('hot.js', { nodeArgs: [] });
  const out = path.join(t.dir, 'nomap.pb.gz');
  // An earlier node with this pid may have left its map (pids wrap; node never removes it): that
  // one would be reported as stale rather than missing.
  fs.rmSync(`/tmp/perf-${t.pid}.map`, { force: true });
  try {
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '1s', '-o', out]);
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

test('periodic work in step with the sampling rate gets its true share (periods are jittered)', () => {
  // spinA takes 25% of every 1001 µs cycle (CPU time, by construction), the period of 999 Hz.
  // With a fixed period every sample lands at the same point of the cycle (spinA ~0% or ~100%).
  const dir = lp.tmpdir('aliasing');
  const out = path.join(dir, 'aliasing.pb.gz');
  try {
    const r = lp.loopperf(['record', '-q', '-F', '999', '-o', out, '--', 'node', path.join(lp.TARGETS, 'aliasing.js')]);
    assert.strictEqual(r.status, 0, r.stderr);
    const tr = lp.traces(out);
    const a = tr.filter(hasFrame(/^spinA$/)).reduce((n, t) => n + t.value, 0);
    const b = tr.filter(hasFrame(/^spinB$/)).reduce((n, t) => n + t.value, 0);
    assert.ok(a + b > 700, `spinA ${a} + spinB ${b} samples (1.5 s of CPU at 999 Hz: ~1500)`);
    const share = a / (a + b);
    // ~1500 samples: the binomial standard deviation is ~1.1 pp.
    assert.ok(Math.abs(share - 0.25) < 0.07, `spinA share ${share.toFixed(3)} (${a} of ${a + b}), true 0.25`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

