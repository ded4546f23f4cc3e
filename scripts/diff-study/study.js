// How `loopperf diff` does on real programs not written here (docs/diff.md, "Measured on real
// programs"): markdown-it, marked and prettier on fixed inputs (bench.js), recorded in launch mode.
// For each program: BASE recordings of the unchanged benchmark and HEAD recordings of the one where
// one function does its work twice, interleaved; then DRAWS random comparisons of each kind:
//   base vs base, RUNS recordings a side, disjoint: every reported change is a false alarm
//   base vs head, RUNS a side: the doubled function's inclusive row must be a regression
//   base vs base, one recording a side (what one file per side can promise, for comparison)
// Usage: node study.js --loopperf PATH [--programs a,b] [--base 12] [--head 6] [--runs 3] [--draws 20]
//                      [--seed 1] [--work DIR] [--reuse] [--json FILE]
// --reuse: recordings already in --work DIR are taken as they are (draw again with other --runs).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const opt = { programs: ['markdown-it', 'marked', 'prettier'], base: 12, head: 6, runs: 3, draws: 20, seed: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => argv[++i];
  if (a === '--loopperf') opt.loopperf = path.resolve(val());
  else if (a === '--programs') opt.programs = val().split(',');
  else if (['--base', '--head', '--runs', '--draws', '--seed'].includes(a)) opt[a.slice(2)] = Number(val());
  else if (a === '--work') opt.work = path.resolve(val());
  else if (a === '--json') opt.json = path.resolve(val());
  else if (a === '--reuse') opt.reuse = true;
  else { console.error(`study.js: unknown argument ${a}`); process.exit(2); }
}
if (!opt.loopperf) { console.error('study.js: --loopperf is required'); process.exit(2); }
if (!process.env.TEST_APPS) { console.error('study.js: TEST_APPS is not set (scripts/diff-study.sh sets it)'); process.exit(2); }
if (opt.base < 2 * opt.runs || opt.head < opt.runs) { console.error('study.js: need --base >= 2 x --runs and --head >= --runs'); process.exit(2); }
const work = opt.work || fs.mkdtempSync(path.join(os.tmpdir(), 'loopperf-diff-study-'));
fs.mkdirSync(work, { recursive: true });
const BENCH = path.join(__dirname, 'bench.js');
// The function bench.js doubles, as diff names it.
const DOUBLED = { 'markdown-it': 'renderTokens (bench.js)', marked: 'renderTokens (bench.js)', prettier: 'printDoc (bench.js)' };
const log = (...a) => console.error('diff-study:', ...a);

// mulberry32: draws that the seed repeats.
let state = opt.seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function pick(n, k) {  // k distinct indices of n
  const all = [...Array(n).keys()];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k);
}

// Without NODE_EXTRA_CA_CERTS: when a machine sets it, node parses every CA certificate at startup,
// CPU whose cost varies from run to run, outside the benchmark.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

function record(program, version, out) {
  if (opt.reuse && fs.existsSync(out)) return out;
  const args = ['record', '-q', '-F', '999', '-o', out, '--', process.execPath, BENCH, program, ...(version ? [version] : [])];
  const r = spawnSync(opt.loopperf, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`record ${program} ${version || 'base'}: exit ${r.status}: ${r.stderr}`);
  return out;
}

let sideCount = 0;
function side(files) {
  const d = path.join(work, `side-${sideCount++}`);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d);
  files.forEach((f, i) => fs.symlinkSync(f, path.join(d, `run-${i}.pb.gz`)));
  return d;
}

function diff(base, head) {
  const r = spawnSync(opt.loopperf, ['diff', base, head, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 10) throw new Error(`diff: exit ${r.status}: ${r.stderr}`);
  const json = JSON.parse(r.stdout);
  const flagged = json.rows.filter((x) => x.verdict === 'regression' || x.verdict === 'improvement');
  return { status: r.status, flagged: flagged.map((x) => ({ verdict: x.verdict, family: x.family, population: x.population, name: x.name, base: x.base_share, head: x.head_share })) };
}

const tally = (list) => {
  const m = new Map();
  for (const f of list) {
    const k = `${f.verdict} ${f.family}${f.population === 'all threads' ? '' : ` (${f.population})`} ${f.name}`;
    m.set(k, (m.get(k) || 0) + 1);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
};

const results = { params: { ...opt, node: process.version }, programs: {} };
for (const program of opt.programs) {
  const t0 = Date.now();
  const base = [], head = [];
  // Interleaved, so that a change of the machine's load falls on both sides alike.
  for (let i = 0; i < Math.max(opt.base, opt.head); i++) {
    if (i < opt.base) base.push(record(program, '', path.join(work, `${program}-base-${i}.pb.gz`)));
    if (i < opt.head) head.push(record(program, 'double', path.join(work, `${program}-head-${i}.pb.gz`)));
  }
  const recordSeconds = (Date.now() - t0) / 1000;
  log(`${program}: ${base.length} + ${head.length} recordings in ${recordSeconds.toFixed(0)} s`);

  const same = [], found = [], single = [];
  for (let d = 0; d < opt.draws; d++) {
    const six = pick(base.length, 2 * opt.runs);
    same.push(diff(side(six.slice(0, opt.runs).map((i) => base[i])), side(six.slice(opt.runs).map((i) => base[i]))));
    const b = pick(base.length, opt.runs), h = pick(head.length, opt.runs);
    const r = diff(side(b.map((i) => base[i])), side(h.map((i) => head[i])));
    r.found = r.flagged.some((x) => x.verdict === 'regression' && x.family === 'total' && x.name === DOUBLED[program]);
    found.push(r);
    const two = pick(base.length, 2);
    single.push(diff(base[two[0]], base[two[1]]));
  }
  const doubledRow = found.map((r) => r.flagged.find((x) => x.family === 'total' && x.name === DOUBLED[program])).filter(Boolean);
  results.programs[program] = {
    record_seconds: recordSeconds,
    recordings: { base: base.length, head: head.length },
    doubled: DOUBLED[program],
    false_alarms: same.filter((r) => r.flagged.length > 0).length,
    false_alarm_rows: tally(same.flatMap((r) => r.flagged)),
    found: found.filter((r) => r.found).length,
    doubled_share: doubledRow.length ? { base: Math.min(...doubledRow.map((x) => x.base)), head: Math.max(...doubledRow.map((x) => x.head)) } : null,
    other_rows_with_found: tally(found.flatMap((r) => r.flagged.filter((x) => x.name !== DOUBLED[program]))),
    single_false_alarms: single.filter((r) => r.flagged.length > 0).length,
    single_rows: tally(single.flatMap((r) => r.flagged)),
  };
  const x = results.programs[program];
  log(`${program}: false alarms ${x.false_alarms}/${opt.draws} (${opt.runs} a side), doubled found ${x.found}/${opt.draws}, ` +
      `one a side: ${x.single_false_alarms}/${opt.draws} with a change`);
}

// The table docs/diff.md keeps.
const L = [];
L.push(`| program | false alarms, base vs base, ${opt.runs} a side | doubled function found, ${opt.runs} a side | base vs base, 1 a side: draws with a change |`);
L.push('|---|---|---|---|');
for (const [program, x] of Object.entries(results.programs)) {
  L.push(`| ${program} (\`${x.doubled}\`) | ${x.false_alarms} of ${opt.draws} | ${x.found} of ${opt.draws} | ${x.single_false_alarms} of ${opt.draws} |`);
}
L.push('');
for (const [program, x] of Object.entries(results.programs)) {
  const rows = (t) => (t.length ? t.map(([k, n]) => `${k} ×${n}`).join('; ') : 'none');
  L.push(`- ${program}: false-alarm rows: ${rows(x.false_alarm_rows)}. Reported with the doubled function: ${rows(x.other_rows_with_found)}. One a side: ${rows(x.single_rows)}.`);
}
console.log(L.join('\n'));
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(results, null, 2));
if (!opt.work) fs.rmSync(work, { recursive: true, force: true });
