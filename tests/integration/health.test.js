// Loop health measured from outside against the target's own numbers (perf_hooks), and wall mode.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

// loop.iterations_per_sec against the callbacks the target counted itself: at least min x, at most
// max x + extra. Measured on the loaded 2-core VM: idle 180/s for 9.8 callbacks/s, half 251/s for
// 88/s (monitorEventLoopDelay's 10 ms timer and V8's tasks add ~165/s), saturated 307/s for 309/s;
// in one CI run (2026-12-04) half 410/s for 97.7/s: those wake-ups vary with the collector's tasks.
const ITERATIONS = { min: 0.9, max: 1.1, extra: 400 };
// Wall mode samples a loop thread at 199 Hz whether it runs or waits, not by the CPU it gets: over
// the 2 s recording 199 x 2 samples within WALL_SAMPLES_TOLERANCE. Measured: 391-405 in four runs
// on the loaded 2-core VM (load average up to 28), i.e. within 2%.
const WALL_SAMPLES_TOLERANCE = 0.2;
const WALL_EXPECTED = 199 * 2;

// Records `mode` for ~2 s while the target measures itself over the same window.
async function measure(mode, extraArgs = []) {
  const dir = lp.tmpdir(`elu-${mode}`);
  const files = { START_FILE: path.join(dir, 'start'), STOP_FILE: path.join(dir, 'stop'), RESULT_FILE: path.join(dir, 'result.json') };
  const t = await lp.startTarget('elu.js', { args: [mode], env: files });
  const out = path.join(dir, `${mode}.pb.gz`);
  try {
    // Both windows are 2 s from (almost) the same instant: the target's must not include the time
    // loopperf spends writing its file afterwards (on 2 cores that slows the target).
    let child;
    const rec = lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '2s', '-o', out, ...extraArgs],
      { onSpawn: (c) => { child = c; } });
    // The target's window opens once loopperf samples (lib.waitForRecording) and lasts the
    // recording's 2 s (a measurement window, not a wait for readiness).
    await lp.waitForRecording(child.pid, t.pid);
    fs.writeFileSync(files.START_FILE, '1');
    await new Promise((res) => setTimeout(res, 2000));
    fs.writeFileSync(files.STOP_FILE, '1');
    const r = await rec;
    assert.strictEqual(r.status, 0, r.stderr);
    await lp.waitForFileAsync(files.RESULT_FILE);  // written under another name and renamed: whole
    const own = JSON.parse(fs.readFileSync(files.RESULT_FILE, 'utf8'));
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = rep.threads.find((th) => th.tid === t.pid);
    return { own, main, out, rep };
  } finally {
    lp.stopTarget(t);
  }
}

for (const [mode, expected] of [['idle', 0], ['half', 0.5], ['saturated', 1]]) {
  test(`utilization of a ${mode} loop matches performance.eventLoopUtilization() within 0.05`, async () => {
    const { own, main } = await measure(mode);
    assert.ok(main && main.loop, 'the main loop has loop health');
    const diff = Math.abs(main.loop.utilization - own.utilization);
    assert.ok(diff <= 0.05, `loopperf ${main.loop.utilization.toFixed(3)} vs node ${own.utilization.toFixed(3)}`);
    assert.ok(Math.abs(own.utilization - expected) < 0.25, `the target did what it should (${own.utilization})`);
    // Every timer or immediate callback the target ran needs a loop iteration of its own; more come
    // from monitorEventLoopDelay's 10 ms timer and V8's platform tasks (measured spread: ITERATIONS).
    const ips = main.loop.iterations_per_sec;
    assert.ok(ips >= ITERATIONS.min * own.callbacksPerSec, `${ips} iterations/s for ${own.callbacksPerSec.toFixed(1)} callbacks/s`);
    assert.ok(ips <= ITERATIONS.max * own.callbacksPerSec + ITERATIONS.extra, `${ips} iterations/s for ${own.callbacksPerSec.toFixed(1)} callbacks/s`);
    if (mode === 'half') {
      // 100 timer ticks/s, plus the wake-ups of monitorEventLoopDelay's timer and V8's platform tasks.
      assert.ok(main.loop.iterations_per_sec > 80 && main.loop.iterations_per_sec < 2000, `${main.loop.iterations_per_sec}/s`);
      assert.ok(main.loop.busy_max_ms > 4 && main.loop.busy_max_ms < 100, `max ${main.loop.busy_max_ms} ms`);
    }
  });
}

test('a deliberate 300 ms block is the longest stall, within 10%, with its stack and phase', async () => {
  const { own, main } = await measure('block300', ['--mode', 'wall']);
  const stalls = main.loop.stalls;
  assert.ok(stalls.length >= 1, 'a stall is listed');
  const longest = stalls.reduce((a, s) => (s.duration_ms > a.duration_ms ? s : a));
  assert.ok(Math.abs(longest.duration_ms - 300) <= 30, `longest stall ${longest.duration_ms} ms`);
  assert.ok(Math.abs(main.loop.busy_max_ms - 300) <= 30, `busy max ${main.loop.busy_max_ms} ms`);
  assert.strictEqual(longest.phase, 'timers');
  // busy() is always compiled by then (it spins); its caller tick() may still be interpreted, and the
  // perf map names no interpreted frame (seen with the 4dffe80 binary too): tick is required only
  // when it is named, and then above busy.
  assert.match(longest.summary, /^timers › (.* › )?busy\b/);
  if (/tick/.test(longest.summary)) assert.match(longest.summary, /tick .*busy/);
  assert.ok(own.maxDelayMs > 250, `node saw the block too (${own.maxDelayMs} ms delay)`);
});

test('wall mode: an execSync loop spends its time under the spawnSync stack, phase timers, sync-io', async () => {
  const { main, out } = await measure('execsync', ['--mode', 'wall']);
  assert.ok(Math.abs(main.samples - WALL_EXPECTED) <= WALL_SAMPLES_TOLERANCE * WALL_EXPECTED, `${main.samples} wall samples, ~${WALL_EXPECTED} expected`);
  const under = lp.share(lp.traces(out).filter((x) => Number(x.labels.tid) === main.tid),
    (x) => x.frames.some((f) => /SyncProcessRunner|spawnSync|execSync/.test(f)));
  assert.ok(under > 0.6, `share under spawnSync ${under}`);
  assert.ok(main.phases.timers > 0.6, `timers ${main.phases.timers}`);
  assert.ok(main.activities['sync-io'] > 0.6, `sync-io ${main.activities['sync-io']}`);
  const raw = lp.pprof(['-raw', out]);
  assert.match(raw, /loopperf:mode=wall/);
  assert.match(raw, /loopperf:wall\.other_threads=cpu-clock/);
});

// Off-CPU blocking outside the poll, as dump shows it (dump.test.js): a readFileSync of a FIFO whose
// writer stays silent. Wall mode sees the whole block under its JavaScript caller, from one stop for
// the one blocking episode (docs/record.md).
test('wall mode on a loop blocked in readFileSync of a silent FIFO: sync-io under readToken, one stop for the block', async () => {
  const dir = lp.tmpdir('fifo-wall');
  const fifo = path.join(dir, 'token.fifo');
  require('node:child_process').execFileSync('mkfifo', [fifo]);
  const t = await lp.startTarget('dump_fifo.js', { args: [fifo], nodeArgs: ['--perf-basic-prof', '--interpreted-frames-native-stack'] });
  let writer;
  try {
    writer = fs.openSync(fifo, 'w');  // the target's open() returns; with no data its read() blocks
    await lp.until(() => fs.readFileSync(`/proc/${t.pid}/syscall`, 'utf8').startsWith('0 '), 'the target blocks in read');
    const out = path.join(dir, 'fifo.pb.gz');
    const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '--mode', 'wall', '-d', '1500ms', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = rep.threads.find((th) => th.tid === t.pid);
    assert.ok(main.samples > 100, `${main.samples} wall samples of the blocked loop`);
    assert.ok(main.activities['sync-io'] > 0.9, `activities ${JSON.stringify(main.activities)}`);
    assert.ok(main.phases.timers > 0.9, `phases ${JSON.stringify(main.phases)}`);
    const under = lp.share(lp.traces(out).filter((x) => Number(x.labels.tid) === t.pid),
      (x) => x.frames.some((f) => /^readToken\b/.test(f)) && x.frames.some((f) => /^uv_fs_read\b/.test(f)));
    assert.ok(under > 0.9, `share under readToken > uv_fs_read: ${under}`);
    const stops = Number(lp.pprof(['-raw', out]).match(/loopperf:wall\.stops=(\d+)/)[1]);
    assert.ok(stops <= 3, `${stops} stops for one blocking episode`);
  } finally {
    if (writer !== undefined) fs.closeSync(writer);
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('wall mode on an idle loop: idle-wait in poll, the target timer does not drift', async () => {
  const { main, own, out } = await measure('idle', ['--mode', 'wall']);
  assert.ok(Math.abs(main.samples - WALL_EXPECTED) <= WALL_SAMPLES_TOLERANCE * WALL_EXPECTED, `${main.samples} wall samples of an idle loop (cpu mode sees none), ~${WALL_EXPECTED} expected`);
  assert.ok(main.activities['idle-wait'] > 0.8, `idle-wait ${main.activities['idle-wait']}`);
  assert.ok(main.phases.poll > 0.8, `poll ${main.phases.poll}`);
  assert.ok(own.maxDelayMs < 50, `the target's loop delay stayed small (${own.maxDelayMs} ms)`);
  // An idle loop waits in epoll_pwait: only the first wait is stopped (for its registers), every
  // later one is sampled without stopping the thread (docs/record.md), so no wait ends in EINTR.
  // (The cost of a stop is checked where stops happen: harm.test.js, a loop blocked in a futex.)
  const raw = lp.pprof(['-raw', out]);
  const samples = Number(raw.match(/loopperf:wall\.samples=(\d+)/)[1]);
  const unstopped = Number(raw.match(/loopperf:wall\.unstopped=(\d+)/)[1]);
  const stops = Number(raw.match(/loopperf:wall\.stops=(\d+)/)[1]);
  assert.ok(unstopped >= 0.9 * samples, `${unstopped} of ${samples} wall samples taken without a stop`);
  assert.ok(stops <= 10, `${stops} stops of an idle loop`);
});

// Concurrent load (issue 17): 4 connections keep an execSync('sleep 0.2') handler busy, so requests
// queue and the loop is busy ~100% of the time, mostly inside spawnSync's nested loop. Whenever the
// recording begins inside that nested wait, its fd is what /proc shows first; the loop's own wait is
// the shallower one (health.h). Measured before: utilization 4-9%, 0-1 stalls; with sequential
// requests the stalls were right.
for (const [name, args] of [['cpu', []], ['wall', ['--mode', 'wall']]]) {
  test(`an execSync handler under 4 concurrent connections: utilization >= 0.9, stalls with the execSync stack (${name})`, async () => {
    const http = require('node:http');
    const t = await lp.startTarget('execsync_server.js');
    const port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let stop = false;
    let served = 0;
    const client = async () => {
      while (!stop) {
        await new Promise((res) => {
          http.get({ port, host: '127.0.0.1', agent }, (r) => { r.resume(); r.on('end', res); }).on('error', res);
        });
        served++;
      }
    };
    const clients = [client(), client(), client(), client()];
    try {
      await lp.until(() => served >= 2, 'the server answers');
      const out = path.join(t.dir, `conc-${name}.pb.gz`);
      const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '3s', '-o', out, ...args]);
      assert.strictEqual(r.status, 0, r.stderr);
      const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
      const main = rep.threads.find((th) => th.tid === t.pid);
      assert.ok(main.loop.utilization >= 0.9, `utilization ${main.loop.utilization}`);
      const whole = main.loop.stalls.filter((s) => !s.truncated);
      assert.ok(whole.length >= 2, JSON.stringify(main.loop.stalls));
      for (const s of whole) assert.ok(s.duration_ms >= 180, JSON.stringify(s));  // at least one execSync each
      // Wall mode sees the stalls' waits, each under execSync. cpu mode sees only the little CPU
      // inside them, split between spawning, parsing the queued requests and the handler: which of
      // those is a stall's heaviest stack varies from run to run (CI once: 1 of 3 under execSync,
      // the others `llhttp__internal_execute` and no frame below the phase), so at least one is.
      const underExec = whole.filter((s) => /execSync/.test(s.summary)).length;
      if (name === 'wall') assert.strictEqual(underExec, whole.length, JSON.stringify(whole));
      else assert.ok(underExec >= 1, JSON.stringify(whole));
      // A loop busy nearly all the time that ran on a CPU for a fraction of it: cpu mode's report says
      // so and points to wall mode; wall mode's sees the waits and does not.
      const offCpu = rep.hints.find((h) => h.kind === 'off-cpu');
      if (name === 'wall') assert.ok(!offCpu, JSON.stringify(rep.hints));
      else assert.match((offCpu || {}).text || JSON.stringify(rep.hints), /^the main loop \(.*\) was busy for [\d.]+ s of [\d.]+ s but ran on a CPU for about [\d.]+ s: .*--mode wall/);
    } finally {
      stop = true;
      agent.destroy();
      lp.stopTarget(t);
      await Promise.all(clients);
    }
  });
}

test('wall mode on a loop blocked in Atomics.wait half the time: blocked samples, each from a short stop', async () => {
  const t = await lp.startTarget('idle.js', { env: { BLOCK_MS: '20' } });
  try {
    const out = path.join(t.dir, 'blocked.pb.gz');
    const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '--mode', 'wall', '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = rep.threads.find((th) => th.tid === t.pid);
    const blocked = main.activities.blocked || 0;
    assert.ok(blocked > 0.3 && blocked < 0.7, `blocked ${blocked}`);
    // A thread blocked outside its poll is stopped once per blocking episode (a futex wait restarts
    // by itself; later ticks of the same wait reuse that stop): one per 20 ms wait, ~50 in 2 s.
    // docs/record.md: such a stop costs 80-110 µs on average (65-72 µs in three recordings of this
    // shape on the 2-core VM); held under 500 µs.
    const raw = lp.pprof(['-raw', out]);
    const stops = Number(raw.match(/loopperf:wall\.stops=(\d+)/)[1]);
    const stopAvg = Number(raw.match(/loopperf:wall\.stop_avg_us=(\d+)/)[1]);
    assert.ok(stops >= 25 && stops <= 200, `${stops} stops`);
    assert.ok(stopAvg > 0 && stopAvg < 500, `wall.stop_avg_us ${stopAvg}`);
  } finally {
    lp.stopTarget(t);
  }
});

// Never harm the target, not even its view of itself: the loop's own eventLoopUtilization() and
// timer delay over a 2 s window, unprofiled and then under record in each mode (separate processes,
// the same work: a 10 ms timer busy for 5 ms).
async function ownView(recordArgs, work = 'half') {
  const dir = lp.tmpdir('own-view');
  const files = { START_FILE: path.join(dir, 'start'), STOP_FILE: path.join(dir, 'stop'), RESULT_FILE: path.join(dir, 'result.json') };
  if (recordArgs === 'launch') return ownViewLaunched(dir, files, work);
  const t = await lp.startTarget('elu.js', { args: [work], env: files });
  try {
    let rec = null;
    if (recordArgs === 'dump') {
      // dump stops every thread for its walk: five of them spread over the window.
      fs.writeFileSync(files.START_FILE, '1');
      const dumps = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((res) => setTimeout(res, 350));
        const d = await lp.loopperfAsync(['dump', '-p', String(t.pid)]);
        assert.strictEqual(d.status, 0, d.stderr);
        dumps.push(d);
      }
      await new Promise((res) => setTimeout(res, 250));
      fs.writeFileSync(files.STOP_FILE, '1');
      await lp.waitForFileAsync(files.RESULT_FILE);
      return JSON.parse(fs.readFileSync(files.RESULT_FILE, 'utf8'));
    }
    let child;
    if (recordArgs === 'watch') {
      // watch with its defaults, incidents into dir: a healthy loop gives none, and its cost is the
      // flight recorder's (49 Hz samples, the poll and signal tracepoints).
      rec = lp.loopperfAsync(['watch', '-q', '-p', String(t.pid), '-o', path.join(dir, 'incidents')], { onSpawn: (c) => { child = c; } });
      await lp.waitForRecording(child.pid, t.pid);
    } else if (recordArgs) {
      rec = lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '2s', '-o', path.join(dir, 'p.pb.gz'), ...recordArgs],
        { onSpawn: (c) => { child = c; } });
      await lp.waitForRecording(child.pid, t.pid);
    }
    fs.writeFileSync(files.START_FILE, '1');
    await new Promise((res) => setTimeout(res, 2000));
    fs.writeFileSync(files.STOP_FILE, '1');
    if (recordArgs === 'watch') {
      await lp.waitForFileAsync(files.RESULT_FILE);
      child.kill('SIGINT');
      const r = await rec;
      assert.strictEqual(r.status, 0, r.stderr);
      const incidents = fs.readdirSync(path.join(dir, 'incidents'));
      assert.deepStrictEqual(incidents.filter((f) => !f.startsWith('stop-')), [], 'no incident on a healthy loop');
      return JSON.parse(fs.readFileSync(files.RESULT_FILE, 'utf8'));
    }
    if (rec) assert.strictEqual((await rec).status, 0);
    await lp.waitForFileAsync(files.RESULT_FILE);
    const own = JSON.parse(fs.readFileSync(files.RESULT_FILE, 'utf8'));
    // What wall mode did, for the diagnostics: its stops and the waits sampled without one.
    if (rec) own.wall = (lp.pprof(['-raw', path.join(dir, 'p.pb.gz')]).match(/loopperf:wall\.(samples|unstopped|stop_avg_us)=\d+/g) || []).join(' ');
    if (rec) own.gc = Object.fromEntries([...lp.pprof(['-raw', path.join(dir, 'p.pb.gz')]).matchAll(/loopperf:js_heap\.(gc_epochs|gc_collections|memo_hits)=(\S+)/g)].map((m) => [m[1], m[2]]));
    return own;
  } finally {
    lp.stopTarget(t);
  }
}

// Launch mode: the node is a child of a shell that loopperf started, sampled from its exec (issue 16:
// a child's sampling starts when its recorder is created, before the names and probes are set up).
// elu.js exits once it wrote its result, and the recording ends with it.
async function ownViewLaunched(dir, files, work) {
  const ready = path.join(dir, 'ready');
  const elu = path.join(__dirname, 'targets', 'elu.js');
  let child;
  const rec = lp.loopperfAsync(['record', '-q', '-d', '30s', '-o', path.join(dir, 'p.pb.gz'), '--',
    'sh', '-c', `"${process.execPath}" "${elu}" ${work}; exit 0`],
  { env: { ...process.env, ...files, READY_FILE: ready }, onSpawn: (c) => { child = c; } });
  try {
    await lp.waitForFileAsync(ready);
    const pid = Number(fs.readFileSync(ready, 'utf8'));
    await lp.waitForRecording(child.pid, pid);
    fs.writeFileSync(files.START_FILE, '1');
    await new Promise((res) => setTimeout(res, 2000));
    fs.writeFileSync(files.STOP_FILE, '1');
    await lp.waitForFileAsync(files.RESULT_FILE);
    const r = await rec;
    assert.strictEqual(r.status, 0, r.stderr);
    // The shell's child was recorded as a node of its own (the `pid` label).
    assert.match(lp.pprof(['-tags', path.join(dir, 'p.pb.gz')]), new RegExp(`\\b${pid}\\b`));
    return JSON.parse(fs.readFileSync(files.RESULT_FILE, 'utf8'));
  } finally {
    if (child && child.exitCode === null) child.kill('SIGTERM');
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
  }
}

// The target's own view, unprofiled, varies from run to run by itself, so each test measures it twice
// and allows the two runs' spread on top of its bound. Measured on the 2-core VM (2026-12-04, 4 runs
// of each, 2 s windows): unprofiled ELU idle 0.005-0.006, half 0.512-0.523, saturated 1.000; under
// wall mode 0.006-0.007, 0.513-0.515, 1.000; under cpu mode 0.006-0.007, 0.513-0.521, 1.000 (earlier,
// before poll waits were sampled without a stop, wall mode read 0.62-0.67 for the half loop). The
// timer delay's mean moves by under 0.2 ms between runs (8 runs each, 2026-12-03), so a slowdown of
// a tenth of the 10 ms period shows. Its p99 is the second-largest tick: for an idle loop unprofiled
// 10.68-12.69 ms, under wall mode 10.58-12.12 ms, under cpu mode 10.88-12.62 ms; for the half loop
// it moved by 11-22 ms between unprofiled runs in an earlier series, so there it only catches
// stalls of the target (a stuck stop, a long freeze).
const OWN_ELU_DIFF = 0.02;
const OWN_MEAN_EXTRA_MS = 1;
const OWN_P99_EXTRA_MS = 10;
// An idle loop's p99, against the larger of two unprofiled runs: more than the whole spread of
// unprofiled runs, so that a run at the top of it against two at its bottom is no alarm. That spread
// is an extreme of ~200 timer delays on a shared 2-core VM: 10.68-12.69 ms (2026-12-04), 10.51-12.03
// (2026-12-05), and profiled runs fall in it (wall mode 10.58-12.12). CI failed the 1 ms it had
// (12.85 under cpu mode vs 11.44 / 11.05 without) and then the 2 ms (2026-12-05: 12.82 under wall
// mode vs 10.65 / 10.62). A stop or a freeze of the loop still shows here, and the mean's 1 ms bound
// is the fine check.
const OWN_P99_IDLE_EXTRA_MS = 3;
// The collecting loop ("halfgc") moves with its garbage collections: unprofiled ELU 0.830-0.855 over
// 5 runs, mean delay up to 1.2 ms apart between two runs (13.26 / 14.48 ms), p99 31.8-38.9 ms; under
// cpu mode its mean was 0.4 ms above the unprofiled one on average (6 runs each: 13.7-14.4 vs
// 13.2-14.5 ms), and its p99 28.97-49.22 ms under cpu mode against 26.18-39.09 ms unprofiled
// (2026-12-04; 48.0 vs 35.0 ms once in CI), and the same with --js-names map (33.1-37.2 ms, 5 runs):
// loopperf's CPU competing with V8's parallel collector threads on 2 cores, not its heap reads. A
// probe that trapped more than once per collection, a stop, or a frozen target would add far more.
const OWN_ELU_DIFF_GC = 0.04;
const OWN_MEAN_EXTRA_GC_MS = 2;
const OWN_P99_EXTRA_GC_MS = 25;
// Wall mode samples the loop's poll waits without stopping the thread (a stop would end the wait
// with EINTR and libuv would drop its idle time). The "collecting" variants allocate while busy: V8
// collects garbage many times a second, and each collection hits the uprobe heap names put on it
// (gc_epochs.h); the probe must not show either.
for (const [name, args, work] of [['cpu', [], 'half'], ['cpu --unwind fp', ['--unwind', 'fp'], 'half'],
  ['wall', ['--mode', 'wall'], 'half'], ['wall, an idle loop', ['--mode', 'wall'], 'idle'],
  ['wall, a saturated loop', ['--mode', 'wall'], 'saturated'], ['cpu, an idle loop', [], 'idle'],
  ['cpu, a collecting loop', [], 'halfgc'], ['wall, a collecting loop', ['--mode', 'wall'], 'halfgc'],
  ['cpu --js-names map', ['--js-names', 'map'], 'half'], ['cpu --js-names none', ['--js-names', 'none'], 'half'],
  ['launch mode, a node a shell starts', 'launch', 'half'], ['dump', 'dump', 'half'],
  ['watch', 'watch', 'half'], ['watch, an idle loop', 'watch', 'idle']]) {
  const under = args === 'dump' ? 'during five dumps' : args === 'watch' ? `under ${name}` : `under record (${name})`;
  test(`the target's own eventLoopUtilization() and timer delay are the same ${under} as without`, async (t) => {
    const without = await ownView(null, work);
    const withLp = await ownView(args, work);
    const again = await ownView(null, work);
    const noise = {
      elu: Math.abs(again.utilization - without.utilization),
      mean: Math.abs(again.meanDelayMs - without.meanDelayMs),
    };
    const reference = {
      utilization: (without.utilization + again.utilization) / 2,
      meanDelayMs: (without.meanDelayMs + again.meanDelayMs) / 2,
      p99DelayMs: Math.max(without.p99DelayMs, again.p99DelayMs),
    };
    t.diagnostic(`ELU ${withLp.utilization.toFixed(3)} under loopperf, ${without.utilization.toFixed(3)} / ${again.utilization.toFixed(3)} without; ` +
      `timer delay mean ${withLp.meanDelayMs.toFixed(2)} / ${without.meanDelayMs.toFixed(2)} / ${again.meanDelayMs.toFixed(2)} ms, ` +
      `p99 ${withLp.p99DelayMs.toFixed(2)} / ${without.p99DelayMs.toFixed(2)} / ${again.p99DelayMs.toFixed(2)} ms ${withLp.wall || ''} ${withLp.gc ? JSON.stringify(withLp.gc) : ''}`);
    if (work === 'halfgc') {
      if (withLp.gc.gc_epochs === 'yes') assert.ok(Number(withLp.gc.gc_collections) > 0, JSON.stringify(withLp.gc));
      else t.diagnostic(`no garbage-collection probe (js_heap.gc_epochs=${withLp.gc.gc_epochs}): the target ran without it`);
    }
    const gc = work === 'halfgc';
    assert.ok(Math.abs(withLp.utilization - reference.utilization) <= (gc ? OWN_ELU_DIFF_GC : OWN_ELU_DIFF) + noise.elu,
      `ELU ${withLp.utilization.toFixed(3)} under loopperf vs ${without.utilization.toFixed(3)} / ${again.utilization.toFixed(3)} without`);
    assert.ok(withLp.meanDelayMs <= reference.meanDelayMs + (gc ? OWN_MEAN_EXTRA_GC_MS : OWN_MEAN_EXTRA_MS) + noise.mean,
      `timer mean delay ${withLp.meanDelayMs.toFixed(2)} ms under loopperf vs ${without.meanDelayMs.toFixed(2)} / ${again.meanDelayMs.toFixed(2)} ms without`);
    const p99Extra = gc ? OWN_P99_EXTRA_GC_MS : work === 'idle' ? OWN_P99_IDLE_EXTRA_MS : OWN_P99_EXTRA_MS;
    assert.ok(withLp.p99DelayMs <= reference.p99DelayMs + p99Extra,
      `timer p99 delay ${withLp.p99DelayMs.toFixed(2)} ms under loopperf vs ${without.p99DelayMs.toFixed(2)} / ${again.p99DelayMs.toFixed(2)} ms without`);
  });
}
