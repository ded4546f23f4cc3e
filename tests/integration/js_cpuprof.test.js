// Heap names against V8's own profiler on the same process and window (docs/js-names.md), on
// workloads where TurboFan inlines small functions into their callers. The reference is `node
// --cpu-prof --cpu-prof-interval 500`, restricted to loopperf's recording window.
//
// V8's profiler is not exact here: a sample in a builtin that runs without a frame of its own
// (StringAdd, NumberToString, String.prototype.replace called from optimized code) loses the
// JavaScript frame that called it, and V8 counts it in that frame's caller. In these workloads the
// drivers (`loop` calls `runBatch` calls the workload) do next to nothing themselves, yet V8 counts
// 4-9% of its samples in them: those samples belong somewhere in the workload, V8 cannot say where.
// So V8's inclusive share of a workload function is a lower bound, and its share plus those unplaced
// samples an upper bound. Each function's share in loopperf must lie within that band widened by 3
// points, and the workload's entry, which by construction holds everything but the drivers' loop
// control, must hold >= 97% of loopperf's samples in JavaScript.
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
const ENTRY_SHARE = 0.97;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);  // CLOCK_MONOTONIC, as V8's TimeTicks

// The two profilers put garbage collection and native code outside JavaScript in different places:
// V8 in root nodes of their own ("(garbage collector)", "(program)"), loopperf in the stack that
// triggered them. Both are left out of both sides: the shares are of the samples in JavaScript.
const V8_OUTSIDE_JS = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

// V8's profile: inclusive share per function of the script, over its samples in [t0, t1].
function v8Shares(file, t0, t1) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const counts = new Map();
  let total = 0, unplaced = 0, t = prof.startTime;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i];
    if (t < t0 || t > t1) return;
    if (V8_OUTSIDE_JS.has(byId.get(id).callFrame.functionName)) return;
    total++;
    const seen = new Set();
    let innermost;
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n).callFrame;
      if (!cf.url.endsWith('js_inlining.js')) continue;
      if (innermost === undefined) innermost = cf.functionName;
      seen.add(cf.functionName);
    }
    if (DRIVERS.has(innermost)) unplaced++;
    for (const k of seen) counts.set(k, (counts.get(k) || 0) + 1);
  });
  return { total, unplaced: unplaced / total, share: (k) => (counts.get(k) || 0) / total, names: [...counts.keys()] };
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
    test(`node ${major}, ${mode}: inlined functions get their inclusive share: the entry >= 97%, each function within V8's bounds +-3 points`,
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
        const rows = top.map((k) => `${k}: V8 ${pct(v8.share(k))} (+${pct(v8.unplaced)} unplaced), loopperf ${pct(ours.share(k))}`);
        const what = rows.join('; ');
        t.diagnostic(what);
        assert.ok(top.length >= 2 && top.includes(ENTRY[mode]), what);
        assert.ok(ours.share(ENTRY[mode]) >= ENTRY_SHARE, `${ENTRY[mode]} holds everything but the drivers' loop control: ${what}`);
        for (const k of top) {
          assert.ok(ours.share(k) >= v8.share(k) - TOLERANCE, what);
          assert.ok(ours.share(k) <= v8.share(k) + v8.unplaced + TOLERANCE, what);
        }
      } finally {
        try { child.kill('SIGKILL'); } catch {}
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
