// loopperf diff on real recordings of real node benchmarks (launch mode, so JS functions are named):
// a doubled function is the one regression and fails the build, from one recording a side and from
// three; the same benchmark recorded six times raises no alarm however the runs are split into two
// sides of three (one recording a side cannot promise that: JIT and machine load move shares by
// several points between runs, docs/diff.md); a move from setImmediate to a timer is a phase change; inputs
// that are not comparable profiles are clear errors. Tolerances, never exact sample counts.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const lp = require('./lib');

const REGRESSION_STATUS = 10;
const INPUT_STATUS = 6;
const BASE_RUNS = 6;  // recordings of the unchanged benchmark: 10 splits into two sides of three

const dir = lp.tmpdir('diff');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// The two versions live in two "checkouts" under the same file name, as on a CI runner that builds
// base and head in separate worktrees: function names must match across different paths.
function checkout(version) {
  const d = path.join(dir, version);
  fs.mkdirSync(d, { recursive: true });
  fs.copyFileSync(path.join(lp.TARGETS, `diff_bench_${version}.js`), path.join(d, 'bench.js'));
  return path.join(d, 'bench.js');
}

// 999 Hz: about 1300 samples a run. A doubled function stands out at z ~ 6-9; unchanged code moves
// within sampling noise (the runs were measured: docs/diff.md, "Run-to-run noise"). Without
// NODE_EXTRA_CA_CERTS: when a machine sets it, node parses every CA certificate at startup, 60 ms
// of CPU whose cost varies from run to run, outside the benchmark this test is about.
function record(out, script, args = []) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = lp.loopperf(['record', '-q', '-F', '999', '-o', out, '--', 'node', script, ...args], { cwd: dir, env });
  assert.strictEqual(r.status, 0, `record ${script}: ${r.stderr}`);
  return out;
}

const baseRuns = [];
function baseRun(i) {
  while (baseRuns.length <= i) {
    baseRuns.push(record(path.join(dir, `base-${baseRuns.length}.pb.gz`), checkout('base')));
  }
  return baseRuns[i];
}

function diffJson(base, head, extra = []) {
  const r = lp.loopperf(['diff', base, head, '--format', 'json', ...extra]);
  assert.ok(r.status === 0 || r.status === REGRESSION_STATUS, `diff failed (${r.status}): ${r.stderr}`);
  return { status: r.status, json: JSON.parse(r.stdout) };
}

const FUNCTIONS = ['parseRecords', 'scoreRecords', 'renderRecords', 'hashRecords', 'sortRecords'];

// The regressions of a diff where scoreRecords doubled: it is among them, and only what contains its
// samples: the function itself (self, total) and the phase and activity its samples carry (the
// benchmark runs at top level, before the loop, as JavaScript). Not its siblings, whose shares only
// shrink relatively, nor natives, nor any other phase or activity. Callers of the whole benchmark
// (main, the module loader: in more than half the samples) contain scoreRecords too, so their total
// grows with it.
function scoreRecordsRegressions(json) {
  const regressions = json.rows.filter((r) => r.verdict === 'regression');
  const what = regressions.map((r) => `${r.family} ${r.name}`);
  assert.ok(what.includes('self scoreRecords (bench.js)'), `regressions: ${what.join('; ')}`);
  const related = new Set(['self scoreRecords (bench.js)', 'total scoreRecords (bench.js)', 'activity js', 'phase outside-loop']);
  const caller = (r) => r.family === 'total' && r.base_share > 0.5;
  for (const r of regressions) assert.ok(related.has(`${r.family} ${r.name}`) || caller(r), `unrelated regression: ${r.family} ${r.name}`);
  return regressions;
}

test('scoreRecords twice as expensive: diff --fail flags it, nothing unrelated, exits 10', () => {
  const base = baseRun(0);
  const head = record(path.join(dir, 'head.pb.gz'), checkout('head'));
  const out = path.join(dir, 'diff.pb.gz');
  const { status, json } = diffJson(base, head, ['--fail', '-o', out]);
  assert.strictEqual(status, REGRESSION_STATUS);
  const regressions = scoreRecordsRegressions(json);
  const self = regressions.find((r) => r.family === 'self');
  // About a third of the samples in base, nearly half in head; the rest shrink only relatively.
  assert.ok(self.change > 0.08 && self.change < 0.25, `change ${self.change}`);
  assert.ok(self.z > 4, `z ${self.z}`);
  // The siblings' shares fall (scoreRecords takes more of the time), but not against the rest:
  // "relative", never an improvement of their own.
  assert.strictEqual(json.summary.improvements, 0, JSON.stringify(json.rows.filter((r) => r.verdict === 'improvement')));
  const scale = json.populations.find((p) => p.name === 'all threads');
  assert.ok(scale.scale > 0.65 && scale.scale < 0.92, `scale ${scale.scale}`);

  // Without --fail the same verdict exits 0; text and markdown say the same.
  const text = lp.loopperf(['diff', base, head]);
  assert.strictEqual(text.status, 0, text.stderr);
  assert.match(text.stdout, /REGRESSION\s+self\s+scoreRecords \(bench\.js\)\s+\d+\.\d% +\d+\.\d% +\+\d+\.\d pp/);
  const md = lp.loopperf(['diff', base, head, '--format', 'markdown']);
  // The same rows as the JSON's: scoreRecords, and callers whose totals it carries (one recording a
  // side: how many callers pass the threshold varies with the run, 1-21 seen).
  assert.match(md.stdout, new RegExp(`^### loopperf diff: ${json.summary.regressions} regressions?`));
  assert.match(md.stdout, /\| 🔴 \*\*regression\*\* \| `scoreRecords \(bench\.js\)` \| self \| [\d.]+% \| [\d.]+% \| \*\*\+[\d.]+ pp\*\* \|/);

  // The diff profile: Google's pprof shows scoreRecords as the one function that grew.
  const top = lp.pprof(['-top', '-sample_index=samples', out]).split('\n');
  const rows = top.filter((l) => /^\s+-?\d+\s/.test(l)).map((l) => l.trim().split(/\s+/));
  const score = rows.find((cols) => cols[5] === 'scoreRecords');
  assert.ok(score, top.join('\n'));
  const flat = Number(score[0]);
  assert.ok(flat > 0, `scoreRecords flat ${flat}`);
  // Every sibling is in the diff profile (both sides kept); pprof leaves out of -top a function
  // whose flat and cum both net to zero, which counts as 0 here.
  const raw = lp.pprof(['-raw', out]);
  for (const name of FUNCTIONS.filter((f) => f !== 'scoreRecords')) {
    assert.match(raw, new RegExp(`\\b${name}\\b`), `${name} is in the diff profile`);
    const other = rows.find((cols) => cols[5] === name);
    const otherFlat = other ? Number(other[0]) : 0;
    assert.ok(otherFlat < flat / 2, `${name}: ${other ? other.join(' ') : 'flat 0'}`);
  }
});

// A side of several recordings: a directory holding copies of the given runs.
function side(name, files) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  files.forEach((f, i) => fs.copyFileSync(f, path.join(d, `run-${i + 1}.pb.gz`)));
  return d;
}

// Every way of splitting the six recordings into two sides of three (10 splits, first run in base).
function splits(n) {
  const out = [];
  for (let mask = 0; mask < 1 << n; mask++) {
    const a = [...Array(n).keys()].filter((i) => mask & (1 << i));
    if (a.length === n / 2 && a.includes(0)) out.push([a, [...Array(n).keys()].filter((i) => !a.includes(i))]);
  }
  return out;
}

test(`the same benchmark recorded ${BASE_RUNS} times, three runs a side: no split reports a change`, (t) => {
  for (let i = 0; i < BASE_RUNS; i++) baseRun(i);
  const seen = [];
  for (const [a, b] of splits(BASE_RUNS)) {
    const name = `${a.join('')}-${b.join('')}`;
    const base = side(`split-${name}-base`, a.map(baseRun)), head = side(`split-${name}-head`, b.map(baseRun));
    const { status, json } = diffJson(base, head, ['--fail', '--all']);
    assert.strictEqual(json.settings.test, 'welch-t-moderated');
    assert.ok(json.settings.run_noise_measured);
    assert.strictEqual(json.base.runs, 3);
    assert.strictEqual(json.head.files.length, 3);
    const strongest = json.rows.reduce((x, r) => (!x || Math.abs(r.z) > Math.abs(x.z) ? r : x), null);
    seen.push(`${name}: noise ${(json.settings.run_noise * 100).toFixed(1)}%, strongest ${strongest.family} ${strongest.name} ` +
              `${(strongest.change * 100).toFixed(1)} pp t ${strongest.z.toFixed(2)}`);
    const reported = json.rows.filter((r) => ['regression', 'improvement'].includes(r.verdict));
    assert.strictEqual(status, 0, `split ${name}: ${JSON.stringify(reported)}`);
    assert.deepStrictEqual(reported, [], `split ${name}`);
  }
  t.diagnostic(seen.join('; '));
  // One recording a side says what it cannot tell.
  const one = lp.loopperf(['diff', baseRun(0), baseRun(1)]);
  assert.strictEqual(one.status, 0, one.stderr);
  assert.match(one.stdout, /one recording per side: how much shares vary between runs is assumed \(--run-noise\), not measured/);
  assert.match(one.stdout, /record 3 or more runs per side and give a directory for each/);
});

test('scoreRecords twice as expensive in three runs a side: found, nothing unrelated, exits 10', () => {
  const heads = [path.join(dir, 'head.pb.gz')];
  if (!fs.existsSync(heads[0])) record(heads[0], checkout('head'));
  for (let i = 1; i < 3; i++) heads.push(record(path.join(dir, `head-${i}.pb.gz`), checkout('head')));
  const base = side('runs-base', [0, 1, 2].map(baseRun)), head = side('runs-head', heads);
  const out = path.join(dir, 'runs-diff.pb.gz');
  const { status, json } = diffJson(base, head, ['--fail', '-o', out]);
  // What to look at when this fails: the row, its runs and the noise each side's runs showed.
  const score = json.rows.find((r) => r.family === 'self' && r.name === 'scoreRecords (bench.js)');
  const seen = `run noise ${json.settings.run_noise}; scoreRecords ${JSON.stringify(score)}; ` +
               `reported ${json.rows.filter((r) => r.verdict !== 'relative').map((r) => `${r.verdict} ${r.family} ${r.name}`).join(', ')}`;
  assert.strictEqual(status, REGRESSION_STATUS, seen);
  const regressions = scoreRecordsRegressions(json);
  assert.strictEqual(json.summary.improvements, 0, seen);
  const self = regressions.find((r) => r.family === 'self');
  assert.strictEqual(self.base_run_shares.length, 3);
  assert.ok(self.df > 2, `df ${self.df}`);
  // The diff profile holds every run of both sides: pprof reads it and scoreRecords grew.
  const top = lp.pprof(['-top', '-sample_index=samples', out]);
  assert.match(top, /scoreRecords/);
  const text = lp.loopperf(['diff', base, head]);
  assert.match(text.stdout, /base  \S+runs-base \(3 recordings\)/);
  assert.match(text.stdout, /Welch's t per row on the shares of 3 and 3 recordings/);
  assert.match(text.stdout, /change +t +p \(Holm\)/);
  assert.doesNotMatch(text.stdout, /one recording per side/);
});

// A real package, not written here: markdown-it (pinned by scripts/install-test-tools.sh) rendering a
// fixed document (scripts/diff-study/bench.js, the benchmark docs/diff.md measures), its renderer
// doing its work twice in the head. V8 tiers and inlines markdown-it differently in every process
// (before V8's own frames were folded into their JavaScript callers, two recordings of unchanged code
// gave construct_stub_create_deopt_addr 9.7% and 21.1%): unchanged against unchanged, three runs a
// side, reports nothing; the doubled renderer is found, with only what runs inside it, and no row of
// V8's own code is left to move.
const APPS = process.env.LOOPPERF_TEST_APPS || path.join(path.dirname(lp.LOOPPERF), 'test-apps', 'node_modules');
const STUDY_BENCH = path.join(__dirname, '..', '..', 'scripts', 'diff-study', 'bench.js');

test('markdown-it, three runs a side: unchanged code reports nothing, its renderer doubled is found', (t) => {
  if (!fs.existsSync(path.join(APPS, 'markdown-it'))) {
    t.skip(`markdown-it is not installed in ${APPS} (scripts/install-test-tools.sh)`);
    return;
  }
  const env = { ...process.env, TEST_APPS: APPS };
  delete env.NODE_EXTRA_CA_CERTS;
  const run = (name, version) => {
    const out = path.join(dir, `md-${name}.pb.gz`);
    const r = lp.loopperf(['record', '-q', '-F', '999', '-o', out, '--', 'node', STUDY_BENCH, 'markdown-it', ...(version ? [version] : [])], { cwd: dir, env });
    assert.strictEqual(r.status, 0, `record markdown-it ${name}: ${r.stderr}`);
    return out;
  };
  const base = [], head = [];
  for (let i = 0; i < 3; i++) {  // interleaved, as docs/ci.md records
    base.push(run(`base-${i}`));
    head.push(run(`head-${i}`, 'double'));
  }
  for (let i = 3; i < 6; i++) base.push(run(`base-${i}`));
  // V8's own code called from JavaScript has no rows (the entry from C++ into JavaScript keeps its).
  const v8Row = (r) => /^(Builtins_|construct_stub_|Runtime_|\[unknown\] \[jit\])/.test(r.name) && !/^Builtins_JSEntry/.test(r.name);

  const same = diffJson(side('md-base-a', base.slice(0, 3)), side('md-base-b', base.slice(3)), ['--fail', '--all']);
  const reported = same.json.rows.filter((r) => ['regression', 'improvement'].includes(r.verdict));
  assert.deepStrictEqual(reported.map((r) => `${r.verdict} ${r.family} ${r.name}`), []);
  assert.strictEqual(same.status, 0);
  assert.deepStrictEqual(same.json.rows.filter(v8Row).map((r) => r.name), []);

  const { status, json } = diffJson(side('md-base', base.slice(0, 3)), side('md-head', head), ['--fail', '--all']);
  const renderer = json.rows.find((r) => r.family === 'total' && r.name === 'renderTokens (bench.js)');
  assert.strictEqual(status, REGRESSION_STATUS, `run noise ${json.settings.run_noise}; renderTokens ${JSON.stringify(renderer)}`);
  const flagged = json.rows.filter((r) => ['regression', 'improvement'].includes(r.verdict));
  const what = flagged.map((r) => `${r.verdict} ${r.family} ${r.name} ${(r.base_share * 100).toFixed(1)} -> ${(r.head_share * 100).toFixed(1)}`);
  const doubled = flagged.find((r) => r.family === 'total' && r.name === 'renderTokens (bench.js)');
  assert.ok(doubled && doubled.verdict === 'regression', what.join('; '));
  assert.ok(doubled.head_share > doubled.base_share + 0.03, what.join('; '));
  // Only what the renderer's work explains: the functions under renderTokens in the head's stacks
  // and its callers in the benchmark; the garbage collector's work on V8's helper threads and the
  // frames it runs under there (a renderer doing its work twice allocates twice and is collected
  // twice: docs/diff.md keeps the collector's rows; seen: ScavengerCollector::JobTask::ProcessItems
  // 3.8% -> 6.7%); the activity and phase its samples carry. Improvements only off the renderer (below).
  const collector = /^v8::internal::.*(Scaveng|Collector|MarkCompact|Marking|Sweep|Evacuat|Heap::)/;
  const related = new Set(['renderTokens', 'benchMarkdownIt']);
  for (const [i, f] of head.entries()) {
    const folded = path.join(dir, `md-head-${i}.folded`);
    const c = lp.loopperf(['convert', f, '-o', folded, '-q']);
    assert.strictEqual(c.status, 0, c.stderr);
    for (const line of fs.readFileSync(folded, 'utf8').split('\n')) {
      const frames = line.replace(/ \d+$/, '').split(';');
      const at = frames.indexOf('renderTokens');
      if (at >= 0) for (const name of frames.slice(at)) related.add(name);
      // The collector's work off the benchmark's stacks (V8's helper threads), with the frames it runs under.
      if (!frames.includes('benchMarkdownIt') && frames.some((name) => collector.test(name))) for (const name of frames) related.add(name);
    }
  }
  for (const r of flagged) {
    const name = r.name.replace(/ \([^)]*\)$/, '');
    // The other half of the benchmark loses share as the renderer's grows, now and then by more than
    // the scale explains, and is called an improvement (docs/diff.md, "five a side": markdown-it's
    // inline, process, parse in 2 of 20 draws; seen here: inline 45.4% -> 38.6%, push 31.8 -> 25.8
    // on a loaded runner). Never the renderer's own code, and never a share that grew.
    if (r.verdict === 'improvement') {
      assert.ok(!related.has(name) && r.head_share < r.base_share, `improvement ${r.family} ${r.name} (${what.join('; ')})`);
      continue;
    }
    assert.strictEqual(r.verdict, 'regression', what.join('; '));
    assert.ok(related.has(name) || collector.test(r.name) || ['phase', 'activity'].includes(r.family) || (r.family === 'total' && r.base_share > 0.5),
              `unrelated: ${r.family} ${r.name} (${what.join('; ')})`);
  }
  t.diagnostic(what.join('; '));
});

// docs/ci.md's recipe as a user runs it: docs/examples/loopperf-ci.sh in a git repository whose
// head commit doubles scoreRecords, three recordings a side.
test('docs/examples/loopperf-ci.sh: three runs a side, the regression fails the job with the files documented', () => {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo, { recursive: true });
  const git = (...args) => {
    const r = require('node:child_process').spawnSync('git', args, { cwd: repo, encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    assert.strictEqual(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  git('init', '-q');
  fs.copyFileSync(path.join(lp.TARGETS, 'diff_bench_base.js'), path.join(repo, 'bench.js'));
  git('add', 'bench.js');
  git('commit', '-q', '-m', 'base');
  const baseRef = git('rev-parse', 'HEAD');
  fs.copyFileSync(path.join(lp.TARGETS, 'diff_bench_head.js'), path.join(repo, 'bench.js'));
  git('commit', '-q', '-am', 'head: scoreRecords does twice the work');
  const out = path.join(dir, 'ci-out');
  const env = { ...process.env, LOOPPERF: lp.LOOPPERF, OUT: out, RATE: '999', RUNS: '3' };
  delete env.NODE_EXTRA_CA_CERTS;
  const script = path.resolve(__dirname, '../../docs/examples/loopperf-ci.sh');
  const r = require('node:child_process').spawnSync(script, [baseRef, 'HEAD', '--', 'node', 'bench.js'],
    { cwd: repo, env, encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(r.status, REGRESSION_STATUS, r.stderr);
  for (const side of ['base', 'head'])
    for (let i = 1; i <= 3; i++) assert.ok(fs.existsSync(path.join(out, side, `run-${i}.pb.gz`)), `${side}/run-${i}.pb.gz`);
  for (const f of ['diff.pb.gz', 'diff.txt', 'diff.md', 'diff.json', 'comment.md', 'base.html', 'head.html', 'diff.html'])
    assert.ok(fs.existsSync(path.join(out, f)), f);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'diff.json'), 'utf8'));
  assert.strictEqual(json.base.runs, 3);
  assert.strictEqual(json.settings.test, 'welch-t-moderated');
  assert.ok(json.rows.some((row) => row.verdict === 'regression' && row.name === 'scoreRecords (bench.js)'));
  assert.match(fs.readFileSync(path.join(out, 'comment.md'), 'utf8'), /^### loopperf diff: [12] regressions?/);
  assert.doesNotMatch(r.stderr, /confirm/);  // three runs a side measure the noise: no second pair
  // The worktrees are gone.
  assert.strictEqual(git('worktree', 'list').split('\n').length, 1);
});

// Attached for 2 s once the work is warm: a launched run's share of node's start-up varies by a few
// points from run to run (module loading, OpenSSL, console), which once made crunch's share move
// 96% -> 91% between two runs and read as an 'improvement'.
async function recordSteady(out, mode) {
  const t = await lp.startTarget('diff_phase.js', { args: [mode], env: { NODE_EXTRA_CA_CERTS: '' } });
  try {
    const r = await lp.loopperfAsync(['record', '-q', '-F', '999', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, `record ${mode}: ${r.stderr}`);
    return out;
  } finally {
    lp.stopTarget(t);
  }
}

test('work moved from setImmediate to a timer is reported as a phase change', async (t) => {
  const before = await recordSteady(path.join(dir, 'immediate.pb.gz'), 'immediate');
  const after = await recordSteady(path.join(dir, 'timer.pb.gz'), 'timer');
  const { json } = diffJson(before, after, ['--all']);
  const phase = (name) => json.rows.find((r) => r.family === 'phase' && r.population === 'main-loop' && r.name === name);
  const timers = phase('timers');
  const check = phase('check');
  assert.ok(timers && check, JSON.stringify(json.rows.map((r) => `${r.family} ${r.name}`)));
  assert.strictEqual(timers.verdict, 'regression');
  assert.ok(timers.base_share < 0.05 && timers.head_share > 0.8, `timers ${timers.base_share} -> ${timers.head_share}`);
  assert.strictEqual(check.verdict, 'improvement');
  assert.ok(check.base_share > 0.8 && check.head_share < 0.05, `check ${check.base_share} -> ${check.head_share}`);
  // The work itself did not change.
  const crunch = json.rows.find((r) => r.family === 'self' && r.name === 'crunch (diff_phase.js)');
  assert.ok(!crunch || !['regression', 'improvement'].includes(crunch.verdict), JSON.stringify(crunch));
  // With the main loop's health in both: setTimeout(0) waits about 1 ms before each batch,
  // setImmediate never waits.
  // Loop health needs the syscall tracepoints: whether they are there is the environment's say.
  const util = json.rows.find((r) => r.family === 'loop' && r.name === 'utilization');
  if (!lp.loopHealthAvailable()) {
    assert.ok(util || json.skipped.some((sk) => sk.what === 'loop utilization'), 'utilization neither compared nor skipped');
    t.skip('no syscall tracepoints here (not root, tracefs not mounted): loop utilization not compared');
  } else {
    assert.ok(util, `loop utilization compared: ${JSON.stringify(json.skipped)}`);
    assert.ok(util.head_share < util.base_share - 0.05, `utilization ${util.base_share} -> ${util.head_share}`);
  }
  const text = lp.loopperf(['diff', before, after]);
  assert.match(text.stdout, /REGRESSION\s+phase \(main-loop\)\s+timers\s+0\.\d% +(9\d\.\d|100\.0)%/);
});

// A minimal profile.proto with one sample type and one sample, encoded by hand: a valid pprof
// file that measures something else (allocated bytes).
function allocProfile() {
  const varint = (n) => { const b = []; while (n >= 0x80) { b.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); } b.push(n); return Buffer.from(b); };
  const field = (num, payload) => Buffer.concat([varint((num << 3) | 2), varint(payload.length), payload]);
  const int = (num, v) => Buffer.concat([varint(num << 3), varint(v)]);
  const strings = ['', 'alloc_space', 'bytes'].map((s) => field(6, Buffer.from(s)));
  const sampleType = field(1, Buffer.concat([int(1, 1), int(2, 2)]));
  const sample = field(2, field(2, varint(4096)));
  return zlib.gzipSync(Buffer.concat([sampleType, sample, ...strings]));
}

test('bad inputs: not pprof, truncated gzip, different sample types, missing file, bad options', () => {
  const good = baseRun(0);
  const junk = path.join(dir, 'junk.pb.gz');
  fs.writeFileSync(junk, 'this is not a profile\n');
  const notPprof = lp.loopperf(['diff', good, junk, '--fail']);
  assert.strictEqual(notPprof.status, INPUT_STATUS);
  assert.match(notPprof.stderr, /cannot read the head profile: .*junk\.pb\.gz/);
  assert.match(notPprof.stderr, /hint: is this a pprof file/);
  assert.strictEqual(notPprof.stdout, '');

  const truncated = path.join(dir, 'truncated.pb.gz');
  const bytes = fs.readFileSync(good);
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const cut = lp.loopperf(['diff', truncated, good]);
  assert.strictEqual(cut.status, INPUT_STATUS);
  assert.match(cut.stderr, /cannot read the base profile: .*truncated\.pb\.gz: truncated gzip data/);

  const alloc = path.join(dir, 'alloc.pb.gz');
  fs.writeFileSync(alloc, allocProfile());
  assert.match(lp.pprof(['-raw', alloc]), /alloc_space\/bytes/);  // a valid pprof file
  const types = lp.loopperf(['diff', good, alloc, '--fail']);
  assert.strictEqual(types.status, INPUT_STATUS);
  assert.match(types.stderr, /measure different things: base has sample types samples\/count, cpu\/nanoseconds, head has alloc_space\/bytes/);
  assert.match(types.stderr, /hint: diff recordings of the same kind/);
  // A directory side: every recording in it must be of the same kind, and it must hold some.
  const mixed = side('mixed', [good, alloc]);
  const mixedDiff = lp.loopperf(['diff', mixed, good]);
  assert.strictEqual(mixedDiff.status, INPUT_STATUS);
  assert.match(mixedDiff.stderr, /another base recording has alloc_space\/bytes/);
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  fs.writeFileSync(path.join(empty, 'notes.txt'), 'not a recording\n');
  const none = lp.loopperf(['diff', good, empty]);
  assert.strictEqual(none.status, INPUT_STATUS);
  assert.match(none.stderr, /the head directory .*empty holds no recordings/);
  assert.match(none.stderr, /hint: put one pprof file per run in it/);

  const missing = lp.loopperf(['diff', path.join(dir, 'nope.pb.gz'), good]);
  assert.strictEqual(missing.status, INPUT_STATUS);
  assert.match(missing.stderr, /cannot read the base profile: cannot read .*nope\.pb\.gz: No such file/);

  const threshold = lp.loopperf(['diff', good, good, '--threshold', 'lots']);
  assert.strictEqual(threshold.status, 2);
  assert.match(threshold.stderr, /--threshold: 'lots' is not a percentage/);
  const html = lp.loopperf(['diff', good, good, '-o', path.join(dir, 'd.html')]);
  assert.strictEqual(html.status, 2);
  assert.match(html.stderr, /pprof only/);
});
