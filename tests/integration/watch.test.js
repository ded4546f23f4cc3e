// `loopperf watch`: stalls captured as they happen, one pprof per incident with a verdict naming
// the culprit; the other triggers (SIGUSR1, SIGTERM to the target, loopperf's stop, the target's
// exit); limits; never harming the target. Real node servers, real pprof.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const lp = require('./lib');

const FILE_RE = /^(stall|sigterm|snapshot|exit|stop)-\d{8}T\d{6}\.\d{3}Z-\d+ms\.pb\.gz$/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(port, urlPath = '/') {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject).setTimeout(20000, function () { this.destroy(new Error('no answer')); });
  });
}

// Starts `loopperf watch ARGS`; `ready` resolves once it says it is watching, `lines` holds the
// incidents printed on stdout so far, `done` resolves with its exit.
function startWatch(args, env = {}) {
  const child = spawn(lp.LOOPPERF, ['watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const w = { child, stdout: '', stderr: '', lines: [] };
  let onReady;
  w.ready = new Promise((res) => { onReady = res; });
  child.stdout.on('data', (d) => {
    w.stdout += d;
    w.lines = w.stdout.split('\n').filter((l) => l.trim() !== '');
  });
  child.stderr.on('data', (d) => {
    w.stderr += d;
    if (/watching pid/.test(w.stderr)) onReady();
  });
  w.done = new Promise((res) => child.on('close', (status, signal) => { onReady(); res({ status, signal }); }));
  w.waitLines = async (n, what) => {
    try {
      return await lp.until(() => w.lines.length >= n, `${n} incident line(s): ${what}`, 30000);
    } catch (e) {
      e.message += `\nwatch's stdout:\n${w.stdout}\nwatch's stderr:\n${w.stderr}`;
      throw e;
    }
  };
  return w;
}

async function server(node) {
  const t = await lp.startTarget('watch_server.js', { node, nodeArgs: [] });
  t.port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
  return t;
}

function incidentFiles(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => FILE_RE.test(f)).sort() : [];
}

function meta(file) {
  const raw = lp.pprof(['-raw', file]);
  const m = {};
  for (const [, k, v] of raw.matchAll(/^(?:Comment: )?loopperf:([\w.]+)=(.*)$/gm)) m[k] = v;
  return m;
}

// Nanoseconds of the samples of `tid` in window `window` (pprof -raw: "count value: locations" then
// the labels).
function windowNs(file, tid, window) {
  const raw = lp.pprof(['-raw', file]);
  let total = 0;
  for (const m of raw.matchAll(/^\s+\d+\s+(\d+): [\d ]+\n\s+(.*)\n\s+tid:\[(\d+)\]/gm)) {
    if (Number(m[3]) === tid && m[2].includes(`window:[${window}]`)) total += Number(m[1]);
  }
  return total;
}

const majors = lp.supportedNodeMajors().filter((m) => m !== 20);
for (const major of majors) {
  test(`node ${major}: a stall on the CPU and one off it are each captured, named and written as one pprof`,
    { skip: !lp.loopHealthAvailable() ? 'no tracepoints here' : lp.nodeSkip(major) }, async () => {
      const t = await server(lp.nodeBinary(major));
      const dir = lp.tmpdir('watch');
      const w = startWatch(['-p', String(t.pid), '-o', dir, '--json']);
      try {
        await w.ready;
        // Healthy traffic first (half a second of CPU): the flight recorder's window before the stall has it.
        const stopLoad = lp.httpLoad(t.port);
        await lp.waitForCpu(t.pid, 0.5);
        stopLoad();
        await get(t.port, '/stall/cpu?ms=400');
        await w.waitLines(1, 'the on-CPU stall');
        await get(t.port, '/stall/off?ms=400');
        await w.waitLines(2, 'the off-CPU stall');
        w.child.kill('SIGINT');
        const r = await w.done;
        assert.strictEqual(r.status, 0, w.stderr);
        const [cpu, off] = w.lines.slice(0, 2).map((l) => JSON.parse(l));
        for (const [inc, fn, activities] of [[cpu, 'authMiddleware', ['native', 'js']], [off, 'checkLicense', ['sync-io']]]) {
          assert.strictEqual(inc.trigger, 'stall');
          assert.strictEqual(inc.tid, t.pid, 'the main loop stalled');
          assert.ok(inc.ended, 'the stall ended and was written then');
          assert.ok(inc.duration_ms >= 380 && inc.duration_ms < 1500, `duration ${inc.duration_ms} ms for a 400 ms stall: ${JSON.stringify({ ...inc, frames: undefined })}\n${w.stderr}`);
          // "poll › (anonymous) (watch_server.js:29) › authMiddleware › node::crypto::CryptoJob<…>::Run"
          assert.match(inc.summary, new RegExp(`^poll › .*\\(watch_server\\.js:\\d+\\) › (.* › )?${fn}\\b`), inc.verdict);
          assert.ok(activities.includes(inc.activity), `activity ${inc.activity}: ${inc.verdict}`);
          assert.strictEqual(inc.phase, 'poll', 'an HTTP request runs in the poll phase');
          // A 400 ms stall of CPU and of the clock lasts longer on a loaded runner (1.02 s seen): the
          // duration is bounded above, the verdict's form checked here.
          assert.match(inc.verdict, /^stall \d+\.\d\d s at \d\d:\d\d:\d\d poll › /);
          assert.ok(inc.frames.some((f) => f.name === fn && f.kind === 'js'), 'the heaviest stack holds the culprit');
          assert.match(path.basename(inc.file), FILE_RE);
          assert.ok(path.basename(inc.file).startsWith(`stall-`) && inc.file.endsWith(`-${inc.duration_ms}ms.pb.gz`));
          // The file is read by Google's pprof, with the incident's metadata and both windows.
          const m = meta(inc.file);
          assert.strictEqual(m['incident.trigger'], 'stall');
          assert.strictEqual(m['incident.tid'], String(t.pid));
          assert.strictEqual(m['incident.duration_ms'], String(inc.duration_ms));
          assert.strictEqual(m['incident.phase'], 'poll');
          assert.strictEqual(m['target.pid'], String(t.pid));
          const windows = lp.tagShares(inc.file, ['-tagfocus', `tid=${t.pid}`]).window || {};
          assert.ok(windows.incident > 0, `samples during the stall: ${JSON.stringify(windows)}`);
          // The stuck thread's own samples during the stall name the culprit (pprof's view, by time).
          const top = lp.pprof(['-top', '-cum', '-tagfocus', 'window=incident', inc.file]);
          assert.match(top, new RegExp(`\\b${fn}\\b`));
        }
        // The off-CPU stall was seen waiting: wall samples of the stuck thread in the nested loop.
        const offTags = lp.tagShares(off.file, ['-tagfocus', 'window=incident']);
        assert.ok((offTags.clock || {}).wall > 0.5, `wall samples while it waited: ${JSON.stringify(offTags.clock)}`);
        // The stuck thread's samples stand for the stall's time, whatever their rate (49 Hz until the
        // stall was seen, the capture's 499 Hz after): 400 ms of CPU, counted as 300-600 ms.
        const stallMs = windowNs(cpu.file, t.pid, 'incident') / 1e6;
        assert.ok(stallMs > 300 && stallMs < 600, `${stallMs.toFixed(0)} ms of samples for the 400 ms on-CPU stall: ${JSON.stringify({ ...cpu, frames: undefined })} before ${windowNs(cpu.file, t.pid, 'before') / 1e6} ms\n${w.stderr}`);
        // The on-CPU one: the flight recorder's window before it held the healthy traffic.
        assert.ok((lp.tagShares(cpu.file).window || {}).before > 0, 'samples from before the stall');
        // The last file is loopperf's stop: the window at that moment.
        const files = incidentFiles(dir);
        assert.strictEqual(files.length, 3, files.join(' '));
        assert.ok(files.some((f) => f.startsWith('stop-')), files.join(' '));
        // report reads an incident like any recording, the stall in its loop health.
        const rep = JSON.parse(lp.loopperf(['report', cpu.file, '--format', 'json']).stdout);
        const main = rep.threads.find((th) => th.tid === t.pid);
        // Unless poll records were lost (a loaded runner: loopperf read the ring too late): then the
        // busy period around the loss has no known end, and loop health leaves it out rather than
        // give it a length (StallDetector::gap, LoopHealthTracker::poll_gap).
        const lost = Number(meta(cpu.file)['loop_health.lost'] || 0);
        assert.ok(main.loop.stalls.some((s) => s.duration_ms >= 380) || lost > 0,
          `the stall is in the profile's loop health: ${JSON.stringify(main.loop.stalls)}, ${lost} records lost`);
      } finally {
        w.child.kill('SIGKILL');
        lp.stopTarget(t);
      }
    });
}

const skipNoTrace = !lp.loopHealthAvailable() ? 'no tracepoints here' : false;

test('a healthy server under load writes nothing; SIGUSR1 writes a snapshot of the window and watching goes on', { skip: skipNoTrace }, async () => {
  const t = await server();
  const dir = lp.tmpdir('watch-healthy');
  const w = startWatch(['-p', String(t.pid), '-o', dir]);
  try {
    await w.ready;
    const stopLoad = lp.httpLoad(t.port, { connections: 4 });
    await lp.waitForCpu(t.pid, 1.5);
    assert.deepStrictEqual(incidentFiles(dir), [], 'no incident while every turn of the loop is short');
    w.child.kill('SIGUSR1');
    await w.waitLines(1, 'the snapshot');
    stopLoad();
    assert.match(w.lines[0], /^snapshot at \d\d:\d\d:\d\d \(the last \d+\.\d\d s\): .*  -> .*snapshot-\d{8}T\d{6}\.\d{3}Z-0ms\.pb\.gz$/);
    const snap = path.join(dir, incidentFiles(dir)[0]);
    assert.strictEqual(meta(snap)['incident.trigger'], 'snapshot');
    assert.ok(lp.traces(snap).length > 0, 'the snapshot holds the window\'s samples');
    assert.ok(lp.isAlive(w.child.pid) && w.child.exitCode === null, 'watch goes on after a snapshot');
    w.child.kill('SIGTERM');
    const r = await w.done;
    assert.strictEqual(r.status, 0, w.stderr);
    assert.strictEqual(incidentFiles(dir).filter((f) => f.startsWith('stop-')).length, 1, 'SIGTERM to loopperf writes the window');
  } finally {
    w.child.kill('SIGKILL');
    lp.stopTarget(t);
  }
});

test('SIGTERM to the target: the window before and everything until it exits are written; watch exits 11', { skip: skipNoTrace }, async () => {
  const t = await server();
  const dir = lp.tmpdir('watch-sigterm');
  const w = startWatch(['-p', String(t.pid), '-o', dir, '--json']);
  try {
    await w.ready;
    await get(t.port);
    process.kill(t.pid, 'SIGTERM');  // its handler exits 300 ms later
    const r = await w.done;
    assert.strictEqual(r.status, 11, `exit status 11 says the target exited: ${w.stderr}`);
    assert.strictEqual(w.lines.length, 1, w.stdout);
    const inc = JSON.parse(w.lines[0]);
    assert.strictEqual(inc.trigger, 'sigterm');
    assert.ok(inc.ended, 'it ended with the exit');
    assert.ok(inc.duration_ms >= 250 && inc.duration_ms < 5000, `${inc.duration_ms} ms from SIGTERM to the exit`);
    assert.match(inc.verdict, /^SIGTERM to the target at \d\d:\d\d:\d\d, \d+\.\d\d s until it exited: /);
    assert.strictEqual(meta(inc.file)['incident.trigger'], 'sigterm');
  } finally {
    w.child.kill('SIGKILL');
    lp.stopTarget(t);
  }
});

test('launch mode: watch -- node server runs it, captures its stalls and exits with its status', { skip: skipNoTrace }, async () => {
  const dir = lp.tmpdir('watch-launch');
  const ready = path.join(dir, 'ready');
  // The command inherits loopperf's environment, READY_FILE with it.
  const w = startWatch(['-o', path.join(dir, 'incidents'), '--', process.execPath, path.join(lp.TARGETS, 'watch_server.js')],
    { READY_FILE: ready });
  let pid = 0;
  try {
    await w.ready;
    await lp.waitForFileAsync(ready);
    let port;
    [pid, port] = fs.readFileSync(ready, 'utf8').split(' ').map(Number);
    assert.match(w.stderr, new RegExp(`watching pid ${pid}\\b`));
    await get(port, '/stall/cpu?ms=300');
    await w.waitLines(1, 'the stall of the launched server');
    assert.match(w.lines[0], /^stall \d+\.\d\d s at .* authMiddleware/);
    process.kill(pid, 'SIGTERM');
    const r = await w.done;
    assert.strictEqual(r.status, 0, `the server's own exit status (0): ${w.stderr}`);
    const files = incidentFiles(path.join(dir, 'incidents'));
    assert.ok(files.some((f) => f.startsWith('stall-')) && files.some((f) => f.startsWith('sigterm-')), files.join(' '));
    // node's start (hundreds of ms before its loop first waits, more on a loaded machine) is no stall.
    assert.strictEqual(files.filter((f) => f.startsWith('stall-')).length, 1, files.join(' '));
  } finally {
    w.child.kill('SIGKILL');
    // The server shares loopperf's stdout and stderr: alive, it would hold this test's pipes open.
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch {}
  }
});

test('limits: --max-incidents skips stalls past the hour\'s budget, --max-bytes removes the oldest files', { skip: skipNoTrace }, async () => {
  const t = await server();
  const dir = lp.tmpdir('watch-limits');
  // An older incident file and a file that is not one: the budget removes the first, never the second.
  const old = path.join(dir, 'stall-20200101T000000.000Z-300ms.pb.gz');
  fs.writeFileSync(old, Buffer.alloc(4 << 20));
  fs.utimesSync(old, new Date(2020, 0, 1), new Date(2020, 0, 1));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const w = startWatch(['-p', String(t.pid), '-o', dir, '--max-incidents', '1', '--max-bytes', '1M', '--stall', '100ms']);
  try {
    await w.ready;
    await get(t.port, '/stall/cpu?ms=250');
    await w.waitLines(1, 'the first stall');
    await get(t.port, '/stall/cpu?ms=250');
    await lp.until(() => /not captured: 1 incidents in the last hour/.test(w.stderr), 'the second stall skipped');
    w.child.kill('SIGINT');
    await w.done;
    const files = incidentFiles(dir);
    assert.ok(!files.includes(path.basename(old)), `the oldest file went for --max-bytes: ${files.join(' ')}`);
    assert.ok(fs.existsSync(path.join(dir, 'notes.txt')), 'files that are not incidents are left alone');
    assert.strictEqual(files.filter((f) => f.startsWith('stall-')).length, 1, files.join(' '));
    assert.match(w.stderr, /removed .*stall-20200101T000000\.000Z-300ms\.pb\.gz \(--max-bytes/);
  } finally {
    w.child.kill('SIGKILL');
    lp.stopTarget(t);
  }
});

// record's never-harm cases (harm.test.js) for watch: loopperf killed, crashed or stopped while it
// captures a stall (wall samples stop the stuck thread while it is blocked outside its poll wait).
for (const how of ['SIGKILL', 'SIGSEGV', 'SIGTERM']) {
  test(`never harms: ${how} to loopperf during a capture leaves the target running, not stopped or traced`, { skip: skipNoTrace }, async () => {
    const t = await server();
    const dir = lp.tmpdir('watch-harm');
    const w = startWatch(['-p', String(t.pid), '-o', dir, '--max-capture', '20s']);
    try {
      await w.ready;
      const before = await get(t.port);
      // A long stall off the CPU (execSync: a nested loop's wait, then the child's exit) being captured.
      const stalled = get(t.port, '/stall/off?ms=1500');
      await sleep(500);  // past --stall: the capture runs
      w.child.kill(how);
      const r = await w.done;
      if (how === 'SIGTERM') {
        assert.strictEqual(r.status, 0, w.stderr);
        assert.ok(incidentFiles(dir).some((f) => f.startsWith('stall-')), 'SIGTERM writes the stall as it stands');
        assert.match(w.stdout, /^stall \d+\.\d\d s\+ at /m, 'a stall cut short says so (+)');
      } else {
        assert.ok(r.signal === how || r.status >= 128, `loopperf died (${r.signal} ${r.status})`);
      }
      const answered = await stalled;
      assert.ok(answered.ticks >= before.ticks);
      await sleep(50);
      for (const task of fs.readdirSync(`/proc/${t.pid}/task`)) {
        const status = fs.readFileSync(`/proc/${t.pid}/task/${task}/status`, 'utf8');
        assert.match(status, /^State:\s+[RSD]/m, `thread ${task} not stopped`);
        assert.match(status, /^TracerPid:\s+0$/m, `thread ${task} not traced`);
      }
      const after = await get(t.port);
      assert.ok(after.ticks > answered.ticks, 'the server still serves and its timer ticks');
    } finally {
      w.child.kill('SIGKILL');
      lp.stopTarget(t);
    }
  });
}

test('bad options and targets get a clear error and their own exit status', () => {
  let r = lp.loopperf(['watch']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /watch needs a target/);
  r = lp.loopperf(['watch', '-p', '1', '--stall', '5ms']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /--stall must be at least/);
  r = lp.loopperf(['watch', '-p', '1', '--max-bytes', '12X']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /invalid disk budget/);
  r = lp.loopperf(['watch', '-p', '999999', '-o', lp.tmpdir('watch-err')]);
  assert.strictEqual(r.status, 3, r.stderr);
  r = lp.loopperf(['watch', '-p', String(process.pid), '-o', '/proc/self/nope']);
  assert.strictEqual(r.status, 5, r.stderr);
  assert.match(r.stderr, /incident directory/);
});
