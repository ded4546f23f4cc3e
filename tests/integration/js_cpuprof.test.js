// Heap names against V8's own profiler on the same process and window (docs/js-names.md), on
// workloads where TurboFan inlines small functions into their callers. The reference is `node
// --cpu-prof --cpu-prof-interval 500`, restricted to loopperf's recording window.
//
// V8's profiler is not exact here: a sample in a builtin that runs without a frame of its own
// (StringAdd, NumberToString, String.prototype.replace called from optimized code) loses the
// JavaScript frame that called it, and V8 counts it in that frame's caller. In these workloads the
// drivers (`loop` calls `runBatch` calls the workload) do next to nothing themselves, yet V8 counts
// 2-11% of its samples in them: those samples belong somewhere in the workload, V8 cannot say where.
// So V8's inclusive share of a function is a lower bound, and its share plus the samples V8 stopped
// at one of the function's callers (without the function on the stack) an upper bound. Each
// function's share in loopperf must lie within that band widened by 3 points, and the workload's
// entry, which by construction holds everything but the drivers' loop control, must hold >= 97% of
// loopperf's samples in JavaScript.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const lp = require('./lib');

const SCRIPT = path.join(__dirname, 'targets', 'js_inlining.js');
const TOLERANCE = 0.03;
const MIN_SHARE = 0.05;  // functions compared: the script's with at least this inclusive share in V8's profile
const DRIVERS = new Set(['loop', 'runBatch']);
// The function each workload runs (js_inlining.js: `work`); an arrow function named by its key.
const ENTRY = { json: 'roundTrip', regex: 'regex', html: 'handleRequest' };
// Measured 96.9-99.3% (the driver's loop control is the rest); 0.97 failed once in CI at 96.9%, when
// V8's own profile put the same function at 86.5% + 10.2% unplaced, 96.7% at most.
const ENTRY_SHARE = 0.96;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);  // CLOCK_MONOTONIC, as V8's TimeTicks

// The two profilers put garbage collection and native code outside JavaScript in different places:
// V8 in root nodes of their own ("(garbage collector)", "(program)"), loopperf in the stack that
// triggered them. Both are left out of both sides: the shares are of the samples in JavaScript.
const V8_OUTSIDE_JS = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

// V8's profile: inclusive share per function of the script, over its samples in [t0, t1]; and per
// function the samples V8 could not place below one of its callers (see the top of the file).
function v8Shares(file, t0, t1) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const stacks = [];  // per sample in the window: the script's functions on its stack, innermost first
  let total = 0, t = prof.startTime;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i];
    if (t < t0 || t > t1) return;
    if (V8_OUTSIDE_JS.has(byId.get(id).callFrame.functionName)) return;
    total++;
    const names = [];
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n).callFrame;
      if (cf.url.endsWith('js_inlining.js')) names.push(cf.functionName);
    }
    stacks.push(names);
  });
  const counts = new Map();
  for (const names of stacks) for (const k of new Set(names)) counts.set(k, (counts.get(k) || 0) + 1);
  // Samples whose innermost function of the script is a caller of k (seen above k on some stack)
  // and k is not on the stack: V8 stopped there, the frames below may have been k's.
  const unplaced = (k) => {
    const callers = new Set();
    for (const names of stacks) {
      const i = names.indexOf(k);
      if (i >= 0) for (const c of names.slice(i + 1)) callers.add(c);
    }
    let n = 0;
    for (const names of stacks) if (!names.includes(k) && callers.has(names[0])) n++;
    return n / total;
  };
  return { total, unplaced, share: (k) => (counts.get(k) || 0) / total, names: [...counts.keys()] };
}

// loopperf's profile: the same, over the main thread's samples in JavaScript (activity not gc, and
// a frame of some script on the stack).
function lpShares(profile) {
  const out = profile.replace(/\.pb\.gz$/, '.speedscope.json');
  const r = lp.loopperf(['convert', profile, '-o', out, '--no-phase-roots', '--thread', 'main', '--value', 'samples',
    '--activity', 'js', '--activity', 'native', '--activity', 'microtasks', '--activity', 'sync-io', '-q']);
  assert.strictEqual(r.status, 0, r.stderr);
  const s = JSON.parse(fs.readFileSync(out, 'utf8'));
  const frames = s.shared.frames;
  const counts = new Map();
  let total = 0;
  for (const p of s.profiles) {
    p.samples.forEach((stack, i) => {
      const w = p.weights[i];
      if (!stack.some((k) => /\.js$|^node:/.test(frames[k].file || ''))) return;
      total += w;
      const seen = new Set();
      for (const k of stack) if ((frames[k].file || '').endsWith('js_inlining.js')) seen.add(frames[k].name);
      for (const k of seen) counts.set(k, (counts.get(k) || 0) + w);
    });
  }
  return { total, share: (k) => (counts.get(k) || 0) / total };
}

for (const major of lp.supportedNodeMajors()) {
  for (const mode of ['json', 'regex', 'html']) {
    test(`node ${major}, ${mode}: inlined functions get their inclusive share: the entry >= 96%, each function within V8's bounds +-3 points`,
      { skip: lp.nodeSkip(major) }, async (t) => {
      const node = lp.nodeBinary(major);
      const dir = lp.tmpdir('cpuprof');
      const ready = path.join(dir, 'ready');
      const child = spawn(node, ['--cpu-prof', '--cpu-prof-interval', '500', '--cpu-prof-dir', dir, SCRIPT, mode, '9'],
        { cwd: dir, env: { ...process.env, READY_FILE: ready }, stdio: ['ignore', 'inherit', 'inherit'] });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        await lp.waitForFileAsync(ready, 30000);
        const out = path.join(dir, 'lp.pb.gz');
        const t0 = nowUs();
        const r = await lp.loopperfAsync(['record', '-p', String(child.pid), '-d', '5s', '-o', out, '-q']);
        const t1 = nowUs();
        assert.strictEqual(r.status, 0, r.stderr);
        await exited;
        const cpuprofile = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        assert.ok(cpuprofile, 'node wrote its .cpuprofile');
        const v8 = v8Shares(path.join(dir, cpuprofile), t0, t1);
        const ours = lpShares(out);
        assert.ok(v8.total > 1000 && ours.total > 1000, `samples: V8 ${v8.total}, loopperf ${ours.total}`);
        const top = v8.names.filter((k) => v8.share(k) >= MIN_SHARE && !DRIVERS.has(k));
        const pct = (x) => `${(x * 100).toFixed(1)}%`;
        const rows = top.map((k) => `${k}: V8 ${pct(v8.share(k))} (+${pct(v8.unplaced(k))} unplaced), loopperf ${pct(ours.share(k))}`);
        const what = rows.join('; ');
        t.diagnostic(what);
        assert.ok(top.length >= 2 && top.includes(ENTRY[mode]), what);
        assert.ok(ours.share(ENTRY[mode]) >= ENTRY_SHARE, `${ENTRY[mode]} holds everything but the drivers' loop control: ${what}`);
        for (const k of top) {
          assert.ok(ours.share(k) >= v8.share(k) - TOLERANCE, what);
          assert.ok(ours.share(k) <= v8.share(k) + v8.unplaced(k) + TOLERANCE, what);
        }
      } finally {
        try { child.kill('SIGKILL'); } catch {}
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
