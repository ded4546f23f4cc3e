// JavaScript frames named from the target's own heap (docs/js-names.md), on every supported node:
// no flag in the target, names checked against the source; agreement with V8's perf map where both
// name a frame; coverage with the heap alone.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const lp = require('./lib');

const TARGETS = path.join(__dirname, 'targets');
const SERVER = path.join(TARGETS, 'js_names_server.js');
const WORK = path.join(TARGETS, 'js_names_work.js');

// Starts `node [nodeArgs] script [args]` with the given node binary; resolves once READY_FILE is written.
async function start(node, script, { nodeArgs = [], args = [] } = {}) {
  const dir = lp.tmpdir('jsn');
  const ready = path.join(dir, 'ready');
  const child = spawn(node, [...nodeArgs, script, ...args], {
    cwd: dir,
    env: { ...process.env, READY_FILE: ready, DATA_DIR: dir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
  await lp.waitForFileAsync(ready, 30000);
  return { child, pid: child.pid, dir, ready };
}

function stop(t) {
  try { t.child.kill('SIGKILL'); } catch {}
  try { fs.rmSync(t.dir, { recursive: true, force: true }); } catch {}
  try { fs.rmSync(`/tmp/perf-${t.pid}.map`, { force: true }); } catch {}
}

// The recorded stacks as [{thread, weight, frames: [{name, file, line}] leaf first}] (speedscope).
function stacks(profile) {
  const out = profile.replace(/\.pb\.gz$/, '.speedscope.json');
  const r = lp.loopperf(['convert', profile, '-o', out, '--no-phase-roots', '-q']);
  assert.strictEqual(r.status, 0, r.stderr);
  const s = JSON.parse(fs.readFileSync(out, 'utf8'));
  const frames = s.shared.frames;
  const result = [];
  for (const p of s.profiles) {
    p.samples.forEach((stack, i) => {
      result.push({ thread: p.name, weight: p.weights[i], frames: stack.map((k) => frames[k]).reverse() });
    });
  }
  return result;
}

const total = (list) => list.reduce((a, s) => a + s.weight, 0);
const has = (s, name, file) => s.frames.some((f) => f.name === name && (!file || (f.file || '').endsWith(file)));

function meta(profile) {
  const raw = lp.pprof(['-raw', profile]);
  const m = {};
  for (const x of raw.matchAll(/loopperf:([\w.]+)=(\S+)/g)) m[x[1]] = x[2];
  return m;
}

function lineOf(file, needle) {
  return fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;
}

function get(port) {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); res.on('end', resolve); })
      .on('error', resolve).setTimeout(5000, function () { this.destroy(); });
  });
}

// Frames named again from the memo (no read) while the thread had no garbage collection: it needs
// uprobes (root or CAP_PERFMON). Where they are refused the recording says why, and the test says so.
function memoInUse(t, m) {
  if (m['js_heap.gc_epochs'] !== 'yes') {
    t.diagnostic(`the memo was not used: js_heap.gc_epochs=${m['js_heap.gc_epochs']}`);
    return false;
  }
  // js_churn.js collects garbage 50-200 times a second, each emptying the memo: some frames are
  // named from it, and their names are checked with the others.
  assert.ok(Number(m['js_heap.memo_hits']) > 0, JSON.stringify(m));
  assert.ok(Number(m['js_heap.gc_collections']) > 0, JSON.stringify(m));
  return true;
}

for (const major of lp.supportedNodeMajors()) {
  const skip = { skip: lp.nodeSkip(major) };
  test(`node ${major}: the readFileSync middleware is named with no flag`, skip, async () => {
    const node = lp.nodeBinary(major);
    const target = await start(node, SERVER);
    const out = path.join(target.dir, 'server.pb.gz');
    try {
      const port = Number(fs.readFileSync(target.ready, 'utf8').split(' ')[1]);
      let running = true;
      const client = (async () => { while (running) await get(port); })();
      const r = await lp.loopperfAsync(['record', '-p', String(target.pid), '-d', '2s', '-o', out, '-q']);
      running = false;
      await client;
      assert.strictEqual(r.status, 0, r.stderr);
      const main = stacks(out).filter((s) => s.thread.includes(`(${target.pid})`) || s.thread.startsWith(`${target.pid}`) || s.thread.includes(String(target.pid)));
      const named = main.filter((s) => has(s, 'authMiddleware', 'js_names_server.js') && s.frames.some((f) => f.name === 'readFileSync'));
      const share = total(named) / total(main);
      assert.ok(share > 0.2, `authMiddleware › readFileSync in ${(share * 100).toFixed(1)}% of main-thread samples`);
      const mw = named[0].frames.find((f) => f.name === 'authMiddleware');
      assert.strictEqual(mw.line, lineOf(SERVER, 'function authMiddleware'), 'the function\'s first line');
      // The order: readFileSync is called by authMiddleware.
      const fr = named[0].frames.map((f) => f.name);
      assert.ok(fr.indexOf('readFileSync') < fr.indexOf('authMiddleware'), fr.join(' < '));
      const report = lp.loopperf(['report', out]);
      assert.match(report.stdout, /authMiddleware/);
      assert.doesNotMatch(report.stdout, /--perf-basic-prof/, 'no advice to restart with a flag once names were found');
    } finally {
      stop(target);
    }
  });

  test(`node ${major}: a package in node_modules, eval code, an anonymous function and a worker are named`, skip, async () => {
    const node = lp.nodeBinary(major);
    const target = await start(node, WORK);
    const out = path.join(target.dir, 'work.pb.gz');
    try {
      const r = lp.loopperf(['record', '-p', String(target.pid), '-d', '2s', '-o', out, '-q']);
      assert.strictEqual(r.status, 0, r.stderr);
      const all = stacks(out);
      const main = all.filter((s) => s.thread.includes(String(target.pid)));
      const workers = all.filter((s) => !s.thread.includes(String(target.pid)));
      const hash = main.filter((s) => has(s, 'slowHash', 'node_modules/slowhash/index.js'));
      assert.ok(total(hash) / total(main) > 0.1, `slowHash from node_modules in ${(total(hash) / total(main) * 100).toFixed(1)}% of main-thread samples`);
      assert.ok(main.some((s) => has(s, 'evalSpin')), 'eval\'d code is named');
      assert.ok(main.some((s) => has(s, '(anonymous)', 'js_names_work.js')), 'the anonymous function is named with its file');
      const spin = workers.filter((s) => has(s, 'workerSpin'));
      assert.ok(total(spin) / Math.max(1, total(workers)) > 0.3, `workerSpin in ${(total(spin) / Math.max(1, total(workers)) * 100).toFixed(1)}% of other threads' samples`);
      const m = meta(out);
      assert.ok(Number(m['js_names.frames.heap']) > 0, JSON.stringify(m));
      // Coverage with the heap alone (no perf map): JIT frames left unnamed are at most 5%.
      const heap = Number(m['js_names.frames.heap']), unnamed = Number(m['js_names.frames.unnamed'] || 0);
      assert.ok(heap / (heap + unnamed) >= 0.95, `named ${heap}, unnamed ${unnamed}`);
    } finally {
      stop(target);
    }
  });

  test(`node ${major}: dump names a function stuck in while (true)`, skip, async () => {
    const node = lp.nodeBinary(major);
    const target = await start(node, WORK, { args: ['stuck'] });
    try {
      await lp.waitForCpu(target.pid, 0.3);
      const r = lp.loopperf(['dump', '-p', String(target.pid), '--json']);
      assert.strictEqual(r.status, 0, r.stderr);
      const d = JSON.parse(r.stdout);
      assert.match(d.js_names, /^heap/);
      const main = d.threads.find((th) => th.tid === target.pid);
      const f = main.frames.find((x) => x.name === 'stuckForever');
      assert.ok(f, main.frames.map((x) => x.name).join(' < '));
      assert.ok(f.file.endsWith('js_names_work.js'), f.file);
      assert.strictEqual(f.line, lineOf(WORK, 'function stuckForever'));
    } finally {
      stop(target);
    }
  });

  test(`node ${major}: where the perf map and the heap both name a frame they agree (>= 99%)`, skip, async (t) => {
    const node = lp.nodeBinary(major);
    const target = await start(node, path.join(TARGETS, 'js_churn.js'), { nodeArgs: ['--perf-basic-prof', '--interpreted-frames-native-stack'] });
    const out = path.join(target.dir, 'agree.pb.gz');
    try {
      const r = lp.loopperf(['record', '-p', String(target.pid), '-d', '3s', '-o', out, '-q']);
      assert.strictEqual(r.status, 0, r.stderr);
      const m = meta(out);
      const compared = Number(m['js_names.compared'] || 0), agreed = Number(m['js_names.agreed'] || 0);
      assert.ok(compared > 100, `frames named both ways: ${compared} (${JSON.stringify(m)})`);
      assert.ok(agreed / compared >= 0.99, `agreement ${agreed}/${compared}`);
      memoInUse(t, m);
    } finally {
      stop(target);
    }
  });

  test(`node ${major}: under code churn (new Function, deopts, scavenges) the heap alone names >= 95% of JavaScript frames`, skip, async (t) => {
    const node = lp.nodeBinary(major);
    const target = await start(node, path.join(TARGETS, 'js_churn.js'));
    const out = path.join(target.dir, 'churn.pb.gz');
    try {
      const r = lp.loopperf(['record', '-p', String(target.pid), '-d', '3s', '--js-names', 'heap', '-o', out, '-q']);
      assert.strictEqual(r.status, 0, r.stderr);
      const m = meta(out);
      const heap = Number(m['js_names.frames.heap'] || 0), unnamed = Number(m['js_names.frames.unnamed'] || 0);
      assert.ok(heap > 1000, JSON.stringify(m));
      // Stacks the time budget left alone (js_heap.over_budget) would count as unnamed: on this
      // single-threaded target reading the heap is never slow enough for that.
      assert.strictEqual(Number(m['js_heap.over_budget']), 0, JSON.stringify(m));
      assert.ok(heap / (heap + unnamed) >= 0.95, `named ${heap}, unnamed ${unnamed} (${JSON.stringify(m)})`);
      memoInUse(t, m);
      // The churned functions are named as what they are: new Function code is eval code.
      const all = stacks(out);
      assert.ok(all.some((s) => has(s, 'polymorphic', 'js_churn.js')), 'the deoptimized function is named');
      // new Function code has no name (V8's perf map writes none either) and no script name.
      assert.ok(all.some((s) => {
        const i = s.frames.findIndex((f) => f.name === '(anonymous)' && !f.file);
        return i >= 0 && s.frames.slice(i + 1).some((f) => f.name === 'churnRound');
      }), 'new Function code is named, under its caller');
    } finally {
      stop(target);
    }
  });
}
