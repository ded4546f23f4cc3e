// Real programs on real npm packages (scripts/install-test-tools.sh installs them, pinned, into
// BUILD_DIR/test-apps): a formatter (prettier), a markdown renderer (marked), an Express server with
// a synchronous read in its middleware, a piscina pool. Each is recorded as a user would, attached
// with no flag, and `report` must say what a user needs to read: the first user frame, the API call,
// the activity and how the work was entered (docs/labels.md). Shares, never exact counts.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const APPS = process.env.LOOPPERF_TEST_APPS || path.join(path.dirname(lp.LOOPPERF), 'test-apps', 'node_modules');
const missing = !fs.existsSync(path.join(APPS, 'prettier', 'package.json')) &&
  `the corpus packages are not installed in ${APPS}: run scripts/install-test-tools.sh`;

// Starts targets/corpus/SCRIPT on node MAJOR with no flag, records it for 2 s while `load` runs, and returns the
// report (JSON) and its text.
async function recordProgram(major, script, load) {
  const t = await lp.startTarget(path.join('corpus', script), { node: lp.nodeBinary(major), nodeArgs: [], env: { TEST_APPS: APPS } });
  let stopLoad = () => {};
  try {
    if (load) stopLoad = load(t);
    const out = path.join(t.dir, 'p.pb.gz');
    const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    const json = lp.loopperf(['report', out, '--format', 'json']);
    assert.strictEqual(json.status, 0, json.stderr);
    return { rep: JSON.parse(json.stdout), text: lp.loopperf(['report', out]).stdout, pid: t.pid };
  } finally {
    stopLoad();
    lp.stopTarget(t);
  }
}

const mainLoop = (rep) => rep.threads.find((th) => th.role === 'main-loop');
const hintKinds = (rep) => rep.hints.map((h) => h.kind);
const show = (x) => JSON.stringify(x);

// Every supported node line: the activity and entry rules read V8's and node's frame names, which
// change between lines.
for (const major of lp.supportedNodeMajors()) {
  test(`node ${major}: prettier: CPU-bound formatting after an await is js entered as a microtask, not a promise flood`, { skip: missing || lp.nodeSkip(major) }, async () => {
    const { rep } = await recordProgram(major, 'prettier_format.js');
    const main = mainLoop(rep);
    const js = (main.activities.js || 0) + (main.activities.native || 0) + (main.activities.gc || 0);
    assert.ok(js >= 0.7, `activities ${show(main.activities)}`);
    assert.ok((main.activities.microtasks || 0) < 0.3, `activities ${show(main.activities)}`);
    assert.ok((main.entries.microtask || 0) >= 0.6, `entries ${show(main.entries)}`);
    assert.ok(hintKinds(rep).includes('continuations') && !hintKinds(rep).includes('microtasks'), show(rep.hints));
    // The blockers are prettier's own functions, with its file.
    const mine = rep.blockers.filter((b) => b.tid === main.tid);
    assert.ok(mine.some((b) => b.frames.some((f) => /node_modules\/prettier\//.test(f.file))), show(mine.map((b) => b.summary)));
  });

  test(`node ${major}: marked: synchronous rendering on a timer is js entered by the timer, under the user function that called it`, { skip: missing || lp.nodeSkip(major) }, async () => {
    const { rep } = await recordProgram(major, 'marked_render.js');
    const main = mainLoop(rep);
    assert.ok((main.entries.timer || 0) >= 0.8, `entries ${show(main.entries)}`);
    assert.ok((main.activities.microtasks || 0) < 0.05, `activities ${show(main.activities)}`);
    // Its regular expressions and string splits run in V8's C++ on the JavaScript's behalf: js (measured
    // 90%, the rest GC and libc; it was 75% js and 17.5% native before V8's C++ counted as js).
    assert.ok((main.activities.js || 0) >= 0.75, `activities ${show(main.activities)}`);
    // The heaviest rendering stack (V8's young-generation GC, run from the poll phase, is about as
    // heavy as marked's heaviest function: 4-9% each on node 26).
    const top = rep.blockers.find((b) => b.tid === main.tid && b.summary.startsWith('timers'));
    // The user's function, then marked's API it called (minified in marked's bundle: `b`), then where
    // marked spends the time.
    assert.match(top.summary, /^timers › renderDocs \(marked_render\.js:\d+\) › \S+ › /);
    assert.ok(top.frames.some((f) => /node_modules\/marked\//.test(f.file)), show(top.frames.map((f) => f.file)));
    // marked's regular expressions, named by the API its JavaScript called, not by V8's builtins.
    const summaries = rep.blockers.map((b) => b.summary).filter((s) => s.startsWith('timers › renderDocs'));
    assert.ok(summaries.some((s) => /› (RegExp|String)\.prototype\.\w+$/.test(s)), show(summaries));
    assert.ok(!summaries.some((s) => /Builtins?_|Runtime_|IC_Miss/.test(s)), show(summaries));
  });

  test(`node ${major}: express: readFileSync in an auth middleware is sync-io in poll under the middleware`, { skip: missing || lp.nodeSkip(major) }, async () => {
    // Keep-alive requests, 3 in flight, from this process while loopperf records.
    const load = (t) => lp.httpLoad(Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]), { urlPath: '/quote' });
    const { rep, text } = await recordProgram(major, 'express_auth.js', load);
    const main = mainLoop(rep);
    assert.ok((main.activities['sync-io'] || 0) >= 0.3, `activities ${show(main.activities)}`);
    // Express's deep stacks still reach uv_run (issue 18: at most 3% of a loop's samples in no phase).
    assert.ok((main.phases.unknown || 0) <= 0.03, `phases ${show(main.phases)}`);
    const sync = rep.blockers.find((b) => b.tid === main.tid && b.activity === 'sync-io');
    assert.ok(sync, show(rep.blockers.map((b) => b.summary)));
    // The user's frame first (Express's own frames above it folded), then the call it made.
    assert.match(sync.summary, /^poll › authMiddleware \(express_auth\.js:\d+\) › readFileSync\b/);
    assert.ok(sync.frames.some((f) => f.name === 'authMiddleware' && /express_auth\.js$/.test(f.file)), show(sync.frames));
    assert.ok(rep.hints.some((h) => h.kind === 'sync-io'), show(rep.hints));
    assert.match(text, /entry\s*\n\s+io /);
  });

  test(`node ${major}: piscina: the pool workers are worker loops named by their task, and no hint tells a worker to move to a worker`, { skip: missing || lp.nodeSkip(major) }, async () => {
    const { rep } = await recordProgram(major, 'piscina_pool.js');
    const workers = rep.threads.filter((th) => th.role === 'worker-loop');
    assert.strictEqual(workers.length, 2, show(rep.threads.map((th) => [th.tid, th.role])));
    for (const w of workers) {
      const top = rep.blockers.find((b) => b.tid === w.tid);
      assert.ok(top && top.frames.some((f) => f.name === 'fibonacciInWorker'), show(top));
      assert.ok((w.activities.js || 0) >= 0.8, `worker ${w.tid} activities ${show(w.activities)}`);
    }
    for (const h of rep.hints)
      if (/worker loop|worker-loop/.test(h.text)) assert.doesNotMatch(h.text, /move it to a worker/, h.text);
  });
}
