// The benchmark driver behind scripts/bench.sh: loopperf against `perf record` (+ `perf script` +
// a folded-stacks conversion) on the same work, in the same run, as ratios of medians over
// alternating paired runs. Writes the raw results (JSON) and a Markdown block for
// docs/performance.md, prints the ratios, and exits 1 when a target is missed.
//
// Usage: node bench.js --loopperf PATH --work DIR [--quick] [--json FILE] [--md FILE]
//                      [--only slowdown,stop,cost,memory,churn,symbols,names] [--memory-seconds N] [--churn-seconds N]
//                      [--reuse RESULTS.json]   (sections not run now are taken from an earlier run)
//        node bench.js --render RESULTS.json [--md FILE]   (tables of an earlier run, nothing measured)
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const opt = { quick: false, only: null, memorySeconds: 600, churnSeconds: 600, watchSeconds: 1800 };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => argv[++i];
  if (a === '--quick') opt.quick = true;
  else if (a === '--loopperf') opt.loopperf = path.resolve(val());
  else if (a === '--work') opt.work = path.resolve(val());
  else if (a === '--json') opt.json = path.resolve(val());
  else if (a === '--md') opt.md = path.resolve(val());
  else if (a === '--only') opt.only = new Set(val().split(','));
  else if (a === '--memory-seconds') opt.memorySeconds = Number(val());
  else if (a === '--churn-seconds') opt.churnSeconds = Number(val());
  else if (a === '--watch-seconds') opt.watchSeconds = Number(val());
  else if (a === '--variants') opt.variants = val();
  else if (a === '--cost-tools') opt.costTools = val();
  else if (a === '--stop-modes') opt.stopModes = val();  // slowdown only, e.g. loopperf map@999,loopperf heap@999
  else if (a === '--reuse') opt.reuse = path.resolve(val());
  else if (a === '--render') opt.render = path.resolve(val());
  else { console.error(`bench.js: unknown argument ${a}`); process.exit(2); }
}
if (opt.render) {
  opt.loopperf = opt.loopperf || 'loopperf';
  opt.work = opt.work || os.tmpdir();
}
if (!opt.loopperf || !opt.work) { console.error('bench.js: --loopperf and --work are required'); process.exit(2); }

const HERE = __dirname;
const WATCH = require('./watch');
const REPO = path.resolve(HERE, '../..');
const JOB = path.join(HERE, 'job.js');
const BUSY = path.join(HERE, 'busy.js');
const CHURN = path.join(REPO, 'tests/integration/targets/js_churn.js');
const FOLD = path.join(HERE, 'perf-fold.awk');
const SERVER = path.join(REPO, 'scripts/demo/server.js');
const LOAD = path.join(REPO, 'scripts/demo/load.js');
const NODE = process.execPath;
const NODE_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack'];
const TIME = '/usr/bin/time';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;

const Q = opt.quick;
const P = {
  // slowdown: cycles of windows (every variant once per cycle, between unprofiled windows), seconds
  slowCycles: 6,
  slowWindow: Q ? 2 : 3,
  // stop-to-file: pairs of 10 s recordings
  stopPairs: Q ? 1 : 3,
  stopSeconds: 10,
  // cost per sample: seconds per run
  costSeconds: Q ? 3 : 5,
  symPairs: Q ? 0 : 3,
  // heap names against the perf map: alternating pairs of whole `record -d 6s`, per target
  namePairs: 10,
};
const want = (s) => !opt.only || opt.only.has(s);

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;  // ms
const log = (...a) => console.error('bench:', ...a);

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const pct = (x, d = 1) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(d)}%` : 'n/a');
const fx = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (bytes) => (bytes / 1048576).toFixed(1);

const live = new Set();  // pids we started, killed on exit
function killAll() {
  for (const pid of live) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  live.clear();
}
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { killAll(); process.exit(130); });

function readProcCpu(pid) {
  // utime + stime of the whole process (live and dead threads), seconds
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch { return NaN; }
}
function readStatus(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => { const m = st.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')); return m ? Number(m[1]) : NaN; };
    return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM') };
  } catch { return { rss_kb: NaN, hwm_kb: NaN }; }
}
function fileSize(p) { try { return fs.statSync(p).size; } catch { return NaN; } }
function rm(p) { try { fs.rmSync(p, { force: true }); } catch {} }

// Runs CMD under /usr/bin/time (so the CPU and peak RSS of CMD and its waited-for children are
// known after it exits). Returns { pid (of CMD), done: Promise<result> }.
function launch(cmd, args, { cwd = opt.work, env = process.env, stdout = false, timeoutMs = 15 * 60 * 1000 } = {}) {
  const tf = path.join(opt.work, `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const t0 = now();
  const child = spawn(TIME, ['-f', '%e %U %S %M', '-o', tf, cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child.pid);
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; if (stdout) process.stderr.write(d); });
  child.stderr.on('data', (d) => { err += d; });
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, timeoutMs);
  const done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child.pid);
      const t1 = now();
      let user = NaN, sys = NaN, maxrss = NaN, elapsed = NaN;
      try {
        const lines = fs.readFileSync(tf, 'utf8').trim().split('\n');
        [elapsed, user, sys, maxrss] = lines[lines.length - 1].split(' ').map(Number);
      } catch {}
      rm(tf);
      resolve({ code, signal, stdout: out, stderr: err, wall_ms: t1 - t0, end_ms: t1, cpu_s: user + sys, user_s: user, sys_s: sys, maxrss_kb: maxrss, elapsed_s: elapsed });
    });
  });
  // The pid of CMD itself: the only child of the time process.
  const pid = async () => {
    for (let i = 0; i < 2000; i++) {
      try {
        const c = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
        if (c) return Number(c.split(' ')[0]);
      } catch { return NaN; }
      await sleep(2);
    }
    return NaN;
  };
  return { timePid: child.pid, pid, done };
}

async function run(cmd, args, o) { return launch(cmd, args, o).done; }

// Starts CMD, lets it run for SECONDS, then SIGINT; measures what happens after the signal.
async function recordFor(cmd, args, seconds, { onRunning } = {}) {
  const h = launch(cmd, args);
  const pid = await h.pid();
  const start = now();
  const rss = [];
  while (now() - start < seconds * 1000) {
    await sleep(Math.min(1000, Math.max(1, seconds * 1000 - (now() - start))));
    if (Number.isFinite(pid)) rss.push(readStatus(pid));
  }
  if (onRunning) await onRunning(pid);
  const cpuAtStop = readProcCpu(pid);
  const st = readStatus(pid);
  const tStop = now();
  try { process.kill(pid, 'SIGINT'); } catch {}
  const r = await h.done;
  r.stop_wall_s = (r.end_ms - tStop) / 1000;
  r.sampling_cpu_s = cpuAtStop;
  r.stop_cpu_s = r.cpu_s - cpuAtStop;
  r.rss_at_stop_kb = st.rss_kb;
  r.rss_series = rss;
  return r;
}

// loopperf's summary: "N samples, T threads, L lost, D -> FILE (symbolized in X)"
function parseLoopperf(stderr) {
  const m = stderr.match(/(\d+) samples, (\d+) threads, (\d+) lost, .* \(symbolized in ([\d.]+)(ms|s|us)\)/);
  if (!m) return { samples: NaN, threads: NaN, lost: NaN, symbolized_s: NaN };
  const unit = { ms: 1e-3, s: 1, us: 1e-6 }[m[5]];
  return { samples: Number(m[1]), threads: Number(m[2]), lost: Number(m[3]), symbolized_s: Number(m[4]) * unit };
}
// perf record's last line: "Captured and wrote X MB FILE (N samples)"
function parsePerf(stderr) {
  const m = stderr.match(/Captured and wrote ([\d.]+) MB .*\((\d+) samples\)/);
  return { samples: m ? Number(m[2]) : NaN };
}
function perfLost(data) {
  const r = spawnSync('perf', ['report', '-i', data, '--stats'], { cwd: opt.work, encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = (r.stdout || '').match(/LOST events:\s+(\d+)/);
  const s = (r.stdout || '').match(/LOST_SAMPLES events:\s+(\d+)/);
  return (m ? Number(m[1]) : 0) + (s ? Number(s[1]) : 0);
}
// The profile's metadata comments ("loopperf:KEY=VALUE") straight from the gzipped pprof: its
// string table (Profile field 6), read field by field (a string's end is only known from its length).
function lpMeta(file) {
  const meta = {};
  try {
    const b = zlib.gunzipSync(fs.readFileSync(file));
    let i = 0;
    const varint = () => {
      let v = 0, mul = 1;
      for (;;) {
        const x = b[i++];
        v += (x & 0x7f) * mul;
        if (x < 0x80) return v;
        mul *= 128;
      }
    };
    while (i < b.length) {
      const tag = varint(), wire = tag & 7;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else if (wire === 2) {
        const n = varint();
        if (tag >>> 3 === 6) {
          const str = b.toString('utf8', i, i + n);
          const m = str.match(/^loopperf:([\w.+-]+)=(.*)$/s);
          if (m) meta[m[1]] = m[2];
        }
        i += n;
      } else break;
    }
  } catch {}
  return meta;
}
function dropCaches() {
  spawnSync('sync');
  try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3'); return true; } catch { return false; }
}

// The perf pipeline after `perf record` has stopped: perf script | fold > file.
async function perfScriptFold(data, out) {
  const r = await run('/bin/sh', ['-c', `perf script -i '${data}' 2>/dev/null | awk -f '${FOLD}' > '${out}'`]);
  return { wall_s: r.wall_ms / 1000, cpu_s: r.cpu_s, maxrss_kb: r.maxrss_kb, size: fileSize(out) };
}

// Busy targets ---------------------------------------------------------------------------------

async function waitReady(file, ms = 20000) {
  const t = now();
  while (now() - t < ms) {
    try { const s = fs.readFileSync(file, 'utf8'); if (s.trim()) return s.trim(); } catch {}
    await sleep(20);
  }
  throw new Error(`target did not start (${file})`);
}

// The demo server under load: a busy node with a realistic mix of JS, native and I/O.
async function startDemo(loadSeconds) {
  const ready = path.join(opt.work, `ready-demo-${Date.now()}`);
  const server = spawn(NODE, [...NODE_FLAGS, SERVER], { cwd: opt.work, env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
  live.add(server.pid);
  const [, port] = (await waitReady(ready)).split(' ');
  const load = spawn(NODE, [LOAD, port, String(loadSeconds * 1000)], { cwd: opt.work, env: { ...process.env, CONCURRENCY: '4' }, stdio: 'ignore' });
  live.add(load.pid);
  await sleep(1500);  // JIT warm-up
  return {
    pid: server.pid,
    stop: async () => {
      for (const p of [load.pid, server.pid]) { try { process.kill(p, 'SIGTERM'); } catch {} }
      await sleep(300);
      for (const p of [load.pid, server.pid]) { try { process.kill(p, 'SIGKILL'); } catch {} live.delete(p); }
      rm(`/tmp/perf-${server.pid}.map`);
    },
  };
}

async function startBusy(n) {
  const ready = path.join(opt.work, `ready-busy-${n}-${Date.now()}`);
  const p = spawn(NODE, [...NODE_FLAGS, BUSY, String(n)], { cwd: opt.work, env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
  live.add(p.pid);
  await waitReady(ready);
  await sleep(500);
  return {
    pid: p.pid,
    stop: async () => {
      try { process.kill(p.pid, 'SIGKILL'); } catch {}
      live.delete(p.pid);
      await sleep(100);
      rm(`/tmp/perf-${p.pid}.map`);
    },
  };
}

// Profiler command lines ---------------------------------------------------------------------

const LP = opt.loopperf;
const lpArgs = (extra, out) => ['record', ...extra, '-o', out];
const tools = {
  'loopperf': (f) => ({ extra: ['-F', String(f)] }),
  'loopperf fp': (f) => ({ extra: ['-F', String(f), '--unwind', 'fp'] }),
  'loopperf dwarf': (f) => ({ extra: ['-F', String(f), '--unwind', 'dwarf'] }),
  'loopperf wall': (f) => ({ extra: ['-F', String(f), '--mode', 'wall'] }),
  // JavaScript names from one source only (docs/js-names.md); plain `loopperf` (auto) uses both
  'loopperf map': (f) => ({ extra: ['-F', String(f), '--js-names', 'map'] }),
  'loopperf heap': (f) => ({ extra: ['-F', String(f), '--js-names', 'heap'] }),
  'perf -g': (f) => ({ perf: ['-e', 'cpu-clock', '-g', '-F', String(f)] }),
  'perf dwarf': (f) => ({ perf: ['-e', 'cpu-clock', '--call-graph', 'dwarf,8192', '-F', String(f)] }),
  // no stacks at all: the sampling interrupt alone, the floor under every perf_event profiler
  'perf no stacks': (f) => ({ perf: ['-e', 'cpu-clock', '-F', String(f)] }),
};

// ---------------------------------------------------------------------------------------------
// 1. Target slowdown: one long-running job (job.js) and each profiler attached to it (-p PID, the
// way loopperf is used on a live service) for a window of W seconds, between unprofiled windows of
// the same length: none, A, none, B, none, ... with the variants' order rotated every cycle.
// Each profiled window is compared with the mean of the unprofiled windows on either side of it.
// Why not separate runs of a fixed job: on these shared VMs the machine's speed drifts by 10-20%
// over tens of seconds and one node process differs from the next by as much (heap layout, JIT
// timing); the per-window comparison in one process cancels both, separate runs could not resolve
// the 3% target (five full runs straddled it, perf's own figures too).

function roundStats(rounds, t0, t1) {
  // the job's rounds that ran entirely inside [t0, t1]: mean wall and CPU per round
  let n = 0, wall = 0, cpu = 0;
  for (const r of rounds) {
    if (r[0] < t0 || r[1] > t1) continue;
    n++; wall += Number(r[1] - r[0]) / 1e6; cpu += Number(r[2]) / 1e3;
  }
  return { n, wall_ms: n ? wall / n : NaN, cpu_ms: n ? cpu / n : NaN };
}

// two-sided 95% Student t quantiles by degrees of freedom (1..30; 1.96 beyond)
const T95 = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.10, 2.09, 2.09,
  2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05, 2.04];
// one-sided 95% (two-sided 90%) Student t quantiles, same layout; 1.645 beyond
const T90 = [6.31, 2.92, 2.35, 2.13, 2.02, 1.94, 1.89, 1.86, 1.83, 1.81, 1.80, 1.78, 1.77, 1.76, 1.75, 1.75, 1.74, 1.73, 1.73, 1.72,
  1.72, 1.72, 1.71, 1.71, 1.71, 1.71, 1.70, 1.70, 1.70, 1.70];
// half-width of the 95% interval of a meanSe() result (Infinity with fewer than two windows)
const half95 = (x) => (x.n > 1 ? T95[x.n - 2] || 1.96 : Infinity) * x.se;
function ci(x, digits = 1) {
  return `${pct(x.mean, digits)} ± ${(half95(x) * 100).toFixed(digits)} pt`;
}

function meanSe(xs) {
  const v = xs.filter(Number.isFinite);
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1));
  return { mean: m, se: sd / Math.sqrt(v.length), n: v.length };
}

async function benchSlowdown() {
  // --quick: the 999 Hz pair every cycle, the 99 Hz pair every other one (its slowdown is inside the
  // noise of so few windows anyway): the 999 Hz gates get twice the windows in the same time.
  const variants = opt.variants ? opt.variants.split(',').map((v) => { const [t, f] = v.split('@'); return [t, Number(f)]; })
    : Q ? [['loopperf', 999], ['perf -g', 999], ['loopperf', 99, 2], ['perf -g', 99, 2]]
    : [['loopperf', 999], ['perf -g', 999], ['loopperf', 99], ['perf -g', 99], ['loopperf fp', 999], ['loopperf dwarf', 999],
      ['perf dwarf', 999], ['loopperf wall', 199], ['loopperf wall', 999], ['perf no stacks', 999],
      ['loopperf map', 999], ['loopperf heap', 999],
      ['loopperf', 4999], ['loopperf fp', 4999], ['perf -g', 4999], ['perf no stacks', 4999]];
  const key = (v) => `${v[0]} @${v[1]}`;
  const W = P.slowWindow;
  const log_ = path.join(opt.work, 'job-rounds.log');
  const ready = path.join(opt.work, `ready-job-${Date.now()}`);
  const job = spawn(NODE, [...NODE_FLAGS, JOB, log_, ready], { cwd: opt.work, stdio: 'ignore' });
  live.add(job.pid);
  const windows = [];
  try {
    await waitReady(ready, 60000);
    const pid = String(job.pid);
    const seq = [];
    const cycleEnds = new Set();
    for (let c = 0; c < P.slowCycles; c++) {
      const these = variants.filter((v) => c % (v[2] || 1) === 0);
      for (let i = 0; i < these.length; i++) seq.push(null, these[(i + c) % these.length]);
      cycleEnds.add(seq.length - 1);
    }
    seq.push(null);
    const out = path.join(opt.work, 'slow.pb.gz');
    const data = path.join(opt.work, 'slow.perf.data');
    for (const [i, v] of seq.entries()) {
      const w = { variant: v ? key(v) : 'none', t0: process.hrtime.bigint() };
      if (!v) await sleep(W * 1000);
      else {
        const t = tools[v[0]](v[1]);
        if (t.perf) {
          const h = launch('perf', ['record', ...t.perf, '-p', pid, '-o', data]);
          await sleep(W * 1000);
          try { process.kill(await h.pid(), 'SIGINT'); } catch {}
          const x = await h.done;
          if (x.code && x.code !== 130) log(`slowdown: ${w.variant} exited ${x.code}: ${x.stderr.slice(-300)}`);  // 130: SIGINT
        } else {
          const x = await run(LP, lpArgs([...t.extra, '-p', pid, '-d', `${W}s`], out));
          if (x.code) log(`slowdown: ${w.variant} exited ${x.code}: ${x.stderr.slice(-300)}`);
          w.lost = parseLoopperf(x.stderr).lost;
          if (v[0] === 'loopperf wall') w.stop_us = Number(lpMeta(out)['wall.stop_avg_us']);
        }
        rm(out); rm(data);
      }
      w.t1 = process.hrtime.bigint();
      windows.push(w);
      await sleep(200);  // the profiler's exit and file writing settle outside every window
      if (cycleEnds.has(i)) log(`slowdown: cycle ${[...cycleEnds].indexOf(i) + 1}/${P.slowCycles} done`);
    }
  } finally {
    try { process.kill(job.pid, 'SIGKILL'); } catch {}
    live.delete(job.pid);
    rm(`/tmp/perf-${job.pid}.map`);
  }
  const rounds = fs.readFileSync(log_, 'utf8').trim().split('\n').map((l) => l.split(' ').map(BigInt));
  for (const w of windows) Object.assign(w, roundStats(rounds, w.t0, w.t1));
  const res = {};
  for (const v of variants) res[key(v)] = { tool: v[0], hz: v[1], wall: [], cpu: [], lost: [], stop_us: [], rounds: [] };
  const base = windows.filter((w) => w.variant === 'none');
  for (let i = 1; i + 1 < windows.length; i += 2) {
    const [b, x, a] = [windows[i - 1], windows[i], windows[i + 1]];
    const r = res[x.variant];
    r.wall.push(x.wall_ms / ((b.wall_ms + a.wall_ms) / 2) - 1);
    r.cpu.push(x.cpu_ms / ((b.cpu_ms + a.cpu_ms) / 2) - 1);
    r.rounds.push(x.n);
    if (x.lost !== undefined) r.lost.push(x.lost);
    if (x.stop_us !== undefined) r.stop_us.push(x.stop_us);
  }
  for (const x of Object.values(res)) {
    x.slowdown_wall = meanSe(x.wall);
    x.slowdown_cpu = meanSe(x.cpu);
    // the target's time per sample: the fraction of its time lost / samples per second
    const s = x.slowdown_wall.mean;
    x.us_per_sample = (s / (1 + s) / x.hz) * 1e6;
  }
  return {
    job: `node ${NODE_FLAGS.join(' ')} scripts/bench/job.js`, window_s: W, cycles: P.slowCycles,
    round_ms: meanSe(base.map((w) => w.wall_ms)).mean, rounds_per_window: median(base.map((w) => w.n)),
    baseline_spread: [Math.min(...base.map((w) => w.wall_ms)), Math.max(...base.map((w) => w.wall_ms))],
    variants: res,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Stop-to-file, 10 s recordings of the busy demo server at 999 Hz, alternating.

async function stopLoopperf(pid, extra, label) {
  const out = path.join(opt.work, 'stop.pb.gz');
  rm(out);
  const r = await recordFor(LP, lpArgs([...extra, '-p', String(pid)], out), P.stopSeconds);
  const s = parseLoopperf(r.stderr);
  const meta = lpMeta(out);
  const x = {
    label, samples: s.samples, lost: s.lost, symbolized_s: s.symbolized_s,
    stop_wall_s: r.stop_wall_s, stop_cpu_s: r.stop_cpu_s, sampling_cpu_s: r.sampling_cpu_s, total_cpu_s: r.cpu_s,
    maxrss_kb: r.maxrss_kb, size: fileSize(out), stop_avg_us: Number(meta['wall.stop_avg_us']),
  };
  if (!Number.isFinite(s.samples)) log(`stop: loopperf failed: ${r.stderr.slice(-400)}`);
  rm(out);
  return x;
}
async function stopPerf(pid, perfArgs, label) {
  const data = path.join(opt.work, 'stop.perf.data');
  const folded = path.join(opt.work, 'stop.folded');
  rm(data); rm(folded);
  const r = await recordFor('perf', ['record', ...perfArgs, '-p', String(pid), '-o', data], P.stopSeconds);
  const s = parsePerf(r.stderr);
  const dataSize = fileSize(data);
  const sf = await perfScriptFold(data, folded);
  const x = {
    label, samples: s.samples,
    record_stop_wall_s: r.stop_wall_s, record_stop_cpu_s: r.stop_cpu_s, sampling_cpu_s: r.sampling_cpu_s,
    script_wall_s: sf.wall_s, script_cpu_s: sf.cpu_s, script_maxrss_kb: sf.maxrss_kb,
    stop_wall_s: r.stop_wall_s + sf.wall_s, stop_cpu_s: r.stop_cpu_s + sf.cpu_s,
    maxrss_kb: Math.max(r.maxrss_kb, sf.maxrss_kb), data_size: dataSize, size: sf.size,
  };
  rm(data); rm(folded);
  return x;
}

async function benchStop() {
  const demo = await startDemo(3600);
  const res = { loopperf: [], perf: [], modes: {} };
  try {
    for (let i = 0; i < P.stopPairs; i++) {
      const pair = [
        async () => res.loopperf.push(await stopLoopperf(demo.pid, ['-F', '999'], 'loopperf')),
        async () => res.perf.push(await stopPerf(demo.pid, tools['perf -g'](999).perf, 'perf -g')),
      ];
      if (i % 2) pair.reverse();
      for (const f of pair) await f();
      log(`stop: pair ${i + 1}/${P.stopPairs}: loopperf ${fx(res.loopperf.at(-1).stop_wall_s)} s / ${fx(res.loopperf.at(-1).stop_cpu_s)} s CPU, ` +
          `perf ${fx(res.perf.at(-1).stop_wall_s)} s / ${fx(res.perf.at(-1).stop_cpu_s)} s CPU`);
    }
    if (!Q) {
      const modes = [['loopperf fp', ['--unwind', 'fp']], ['loopperf dwarf', ['--unwind', 'dwarf']], ['loopperf wall', ['--mode', 'wall']],
        ['loopperf map', ['--js-names', 'map']], ['loopperf heap', ['--js-names', 'heap']]];
      // --stop-modes "loopperf map,loopperf heap": only these (perf dwarf alone takes minutes)
      const wanted = (name) => !opt.stopModes || opt.stopModes.split(',').includes(name);
      for (const [name, extra] of modes) {
        if (wanted(name)) res.modes[name] = [await stopLoopperf(demo.pid, ['-F', '999', ...extra], name)];
      }
      if (wanted('perf dwarf')) res.modes['perf dwarf'] = [await stopPerf(demo.pid, tools['perf dwarf'](999).perf, 'perf dwarf')];
      log('stop: modes done');
    }
  } finally { await demo.stop(); }
  const sum = (xs) => ({
    n: xs.length,
    stop_wall_s: median(xs.map((x) => x.stop_wall_s)), stop_cpu_s: median(xs.map((x) => x.stop_cpu_s)),
    stop_wall_range: [Math.min(...xs.map((x) => x.stop_wall_s)), Math.max(...xs.map((x) => x.stop_wall_s))],
    stop_cpu_range: [Math.min(...xs.map((x) => x.stop_cpu_s)), Math.max(...xs.map((x) => x.stop_cpu_s))],
    samples: median(xs.map((x) => x.samples)), size: median(xs.map((x) => x.size)),
    maxrss_kb: Math.max(...xs.map((x) => x.maxrss_kb)), sampling_cpu_s: median(xs.map((x) => x.sampling_cpu_s)),
    symbolized_s: median(xs.map((x) => x.symbolized_s)), lost: Math.max(...xs.map((x) => x.lost ?? 0)),
    data_size: median(xs.map((x) => x.data_size)), stop_avg_us: median(xs.map((x) => x.stop_avg_us)),
    record_stop_wall_s: median(xs.map((x) => x.record_stop_wall_s)), record_stop_cpu_s: median(xs.map((x) => x.record_stop_cpu_s)),
    script_wall_s: median(xs.map((x) => x.script_wall_s)), script_cpu_s: median(xs.map((x) => x.script_cpu_s)),
  });
  const out = { runs: res, loopperf: sum(res.loopperf), perf: sum(res.perf), modes: {} };
  for (const [k, v] of Object.entries(res.modes)) out.modes[k] = sum(v);
  out.cpu_ratio = out.perf.stop_cpu_s / out.loopperf.stop_cpu_s;
  out.wall_ratio = out.perf.stop_wall_s / out.loopperf.stop_wall_s;
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Cost per sample: busy threads, each profiler attached for a few seconds.

async function benchCost() {
  const rows = [];
  const plan = [];
  if (Q) plan.push(['loopperf', 999, 16]);
  else if (opt.costTools) {
    // --cost-tools "loopperf map,loopperf heap": these tools only, 999 Hz x 1, 4, 16 threads
    for (const n of [1, 4, 16]) for (const t of opt.costTools.split(',')) plan.push([t, 999, n]);
  } else {
    for (const n of [1, 4, 16]) {
      for (const f of [999, 4999]) {
        for (const t of ['loopperf', 'loopperf fp', 'loopperf dwarf', 'perf -g']) plan.push([t, f, n]);
        if (f === 999) plan.push(['perf dwarf', f, n], ['loopperf wall', f, n], ['loopperf map', f, n], ['loopperf heap', f, n]);
      }
    }
  }
  let busy = null, busyN = 0;
  try {
    for (const [tool, f, n] of plan) {
      if (busyN !== n) {
        if (busy) await busy.stop();
        busy = await startBusy(n);
        busyN = n;
      }
      const t = tools[tool](f);
      const row = { tool, hz: f, threads: n };
      if (t.perf) {
        const data = path.join(opt.work, 'cost.perf.data');
        const folded = path.join(opt.work, 'cost.folded');
        const r = await recordFor('perf', ['record', ...t.perf, '-p', String(busy.pid), '-o', data], P.costSeconds);
        row.samples = parsePerf(r.stderr).samples;
        row.lost = perfLost(data);
        row.sampling_cpu_s = r.sampling_cpu_s;
        row.data_size = fileSize(data);
        const sf = await perfScriptFold(data, folded);
        row.total_cpu_s = r.cpu_s + sf.cpu_s;
        row.script_cpu_s = sf.cpu_s;
        row.maxrss_kb = Math.max(r.maxrss_kb, sf.maxrss_kb);
        rm(data); rm(folded);
      } else {
        const out = path.join(opt.work, 'cost.pb.gz');
        const r = await recordFor(LP, lpArgs([...t.extra, '-p', String(busy.pid)], out), P.costSeconds);
        const s = parseLoopperf(r.stderr);
        const meta = lpMeta(out);
        row.samples = s.samples;
        row.lost = s.lost;
        row.sampling_cpu_s = r.sampling_cpu_s;
        row.total_cpu_s = r.cpu_s;
        row.maxrss_kb = r.maxrss_kb;
        row.stop_avg_us = Number(meta['wall.stop_avg_us']);
        row.size = fileSize(out);
        if (!Number.isFinite(s.samples)) log(`cost: ${tool} failed: ${r.stderr.slice(-300)}`);
        rm(out);
      }
      row.seconds = P.costSeconds;
      row.samples_per_s = row.samples / P.costSeconds;
      row.us_per_sample = (row.sampling_cpu_s / row.samples) * 1e6;
      row.us_per_sample_total = (row.total_cpu_s / row.samples) * 1e6;
      // ring bandwidth: what the kernel writes per sample (user stack copy + registers, or nothing)
      const stackBytes = tool === 'perf dwarf' || tool === 'loopperf' || tool === 'loopperf dwarf' ? 8192 + 16 + 8 * 18 : 0;
      row.ring_mb_per_s = (stackBytes * row.samples_per_s) / 1048576;
      rows.push(row);
      log(`cost: ${tool} @${f} Hz × ${n}: ${row.samples} samples, ${row.lost} lost, ${fx(row.us_per_sample, 1)} µs/sample sampling, ${fx(row.us_per_sample_total, 1)} µs/sample to file`);
    }
  } finally { if (busy) await busy.stop(); }
  return { seconds: P.costSeconds, rows };
}

// ---------------------------------------------------------------------------------------------
// 4. Memory: a long recording at 999 Hz of the busy demo server, RSS every 5 s; perf record on the
// same target at the same time for the size of its data.

async function benchMemory() {
  const secs = opt.memorySeconds;
  const demo = await startDemo(secs + 120);
  const out = path.join(opt.work, 'memory.pb.gz');
  const data = path.join(opt.work, 'memory.perf.data');
  try {
    const lp = launch(LP, lpArgs(['-F', '999', '-p', String(demo.pid)], out));
    const pf = launch('perf', ['record', ...tools['perf -g'](999).perf, '-p', String(demo.pid), '-o', data]);
    const lpPid = await lp.pid(), pfPid = await pf.pid();
    const series = [];
    const t0 = now();
    while (now() - t0 < secs * 1000) {
      await sleep(5000);
      const t = (now() - t0) / 1000;
      series.push({ t, lp_rss_kb: readStatus(lpPid).rss_kb, perf_rss_kb: readStatus(pfPid).rss_kb, perf_data: fileSize(data) });
      if (series.length % 12 === 0) log(`memory: ${Math.round(t)} s, loopperf RSS ${mb(series.at(-1).lp_rss_kb * 1024)} MB`);
    }
    const hwmBeforeStop = readStatus(lpPid).hwm_kb;
    const tStop = now();
    const cpuAtStop = readProcCpu(lpPid);
    try { process.kill(lpPid, 'SIGINT'); } catch {}
    try { process.kill(pfPid, 'SIGINT'); } catch {}
    const r = await lp.done;
    const stopWall = (r.end_ms - tStop) / 1000;
    const rp = await pf.done;
    const s = parseLoopperf(r.stderr);
    const after60 = series.filter((x) => x.t >= 60);
    const at60 = after60.length ? after60[0].lp_rss_kb : NaN;
    const res = {
      seconds: secs, series, samples: s.samples, lost: s.lost, symbolized_s: s.symbolized_s, stop_wall_s: stopWall,
      stop_cpu_s: r.cpu_s - cpuAtStop, total_cpu_s: r.cpu_s,
      peak_rss_kb: r.maxrss_kb, hwm_sampling_kb: hwmBeforeStop,
      rss_at_60_kb: at60, rss_max_after_60_kb: Math.max(...after60.map((x) => x.lp_rss_kb)),
      rss_end_kb: series.length ? series.at(-1).lp_rss_kb : NaN,
      size: fileSize(out), perf_samples: parsePerf(rp.stderr).samples, perf_data_size: fileSize(data), perf_peak_rss_kb: rp.maxrss_kb,
    };
    res.growth_after_60_kb = res.rss_max_after_60_kb - at60;
    return res;
  } finally { rm(out); rm(data); await demo.stop(); }
}

// ---------------------------------------------------------------------------------------------
// 4b. Memory under code churn: JavaScript names read from the heap (--js-names heap) of a target that
// makes new functions all the time (new Function), deoptimizes and allocates (tests/integration/
// targets/js_churn.js, started with no flags), RSS every 5 s: the heap reader's caches must not grow
// with the functions it has seen. The same recording with --js-names none follows, on a fresh target:
// what both grow by is the profile itself (distinct stacks), what heap grows by beyond it is naming's.

async function churnRun(mode, secs) {
  const ready = path.join(opt.work, `ready-churn-${Date.now()}`);
  const target = spawn(NODE, [CHURN], { cwd: opt.work, env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
  live.add(target.pid);
  await waitReady(ready);
  const out = path.join(opt.work, 'churn.pb.gz');
  try {
    const lp = launch(LP, lpArgs(['-F', '999', '--js-names', mode, '-p', String(target.pid)], out));
    const lpPid = await lp.pid();
    const series = [];
    const t0 = now();
    while (now() - t0 < secs * 1000) {
      await sleep(5000);
      series.push({ t: (now() - t0) / 1000, lp_rss_kb: readStatus(lpPid).rss_kb });
      if (series.length % 12 === 0) log(`churn (${mode}): ${Math.round(series.at(-1).t)} s, loopperf RSS ${mb(series.at(-1).lp_rss_kb * 1024)} MB`);
    }
    try { process.kill(lpPid, 'SIGINT'); } catch {}
    const r = await lp.done;
    const s = parseLoopperf(r.stderr);
    const meta = {};
    // The metadata as Google's pprof prints it (scripts/build-pprof.sh puts it beside loopperf).
    const pp = spawnSync(path.join(path.dirname(LP), 'pprof'), ['-raw', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const m of (pp.stdout || '').matchAll(/loopperf:(js_heap\.[a-z_]+|js_names\.[a-z_.]+|stacks\.[a-z_]+)=(\d+)/g)) meta[m[1]] = Number(m[2]);
    const after60 = series.filter((x) => x.t >= 60);
    const at60 = after60.length ? after60[0].lp_rss_kb : NaN;
    return {
      mode, seconds: secs, series, samples: s.samples, lost: s.lost, peak_rss_kb: r.maxrss_kb, meta,
      rss_at_60_kb: at60, rss_max_after_60_kb: Math.max(...after60.map((x) => x.lp_rss_kb)),
      rss_end_kb: series.length ? series.at(-1).lp_rss_kb : NaN,
    };
  } finally {
    rm(out);
    try { process.kill(target.pid, 'SIGKILL'); } catch {}
    live.delete(target.pid);
  }
}

async function benchChurn() {
  const heap = await churnRun('heap', opt.churnSeconds);
  const none = await churnRun('none', opt.churnSeconds);
  return { ...heap, none };
}

// ---------------------------------------------------------------------------------------------
// 5. Symbol loading: the end of a short recording, with the page cache dropped just before the
// stop (cold: node's symbol table and DWARF come from disk) or not (warm); perf script likewise.

async function benchSymbols() {
  const demo = await startDemo(3600);
  const res = { loopperf: { cold: [], warm: [] }, perf: { cold: [], warm: [] }, dropped: true };
  const data = path.join(opt.work, 'sym.perf.data');
  const folded = path.join(opt.work, 'sym.folded');
  const out = path.join(opt.work, 'sym.pb.gz');
  try {
    rm(data);
    await recordFor('perf', ['record', ...tools['perf -g'](999).perf, '-p', String(demo.pid), '-o', data], 3);
    for (let i = 0; i < P.symPairs; i++) {
      for (const cold of i % 2 ? [false, true] : [true, false]) {
        // Cold: the page cache is dropped before loopperf starts (it opens node's symbol table and
        // unwind info while it records, so dropping it later would leave those pages mapped, warm).
        if (cold) res.dropped = dropCaches() && res.dropped;
        const r = await recordFor(LP, lpArgs(['-F', '999', '-p', String(demo.pid)], out), 3);
        const s = parseLoopperf(r.stderr);
        res.loopperf[cold ? 'cold' : 'warm'].push({ symbolized_s: s.symbolized_s, stop_wall_s: r.stop_wall_s, stop_cpu_s: r.stop_cpu_s, samples: s.samples,
          total_cpu_s: r.cpu_s, overhead_wall_s: r.wall_ms / 1000 - 3 });
        rm(out);
        if (cold) dropCaches();
        const sf = await perfScriptFold(data, folded);
        res.perf[cold ? 'cold' : 'warm'].push(sf);
        rm(folded);
      }
      log(`symbols: pair ${i + 1}/${P.symPairs} done`);
    }
  } finally { rm(data); await demo.stop(); }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  const rng = (xs, k) => [Math.min(...xs.map((x) => x[k])), Math.max(...xs.map((x) => x[k]))];
  res.summary = {
    loopperf_cold_s: m(res.loopperf.cold, 'stop_wall_s'), loopperf_warm_s: m(res.loopperf.warm, 'stop_wall_s'),
    loopperf_cold_range: rng(res.loopperf.cold, 'stop_wall_s'), loopperf_warm_range: rng(res.loopperf.warm, 'stop_wall_s'),
    loopperf_cold_symbolized_s: m(res.loopperf.cold, 'symbolized_s'), loopperf_warm_symbolized_s: m(res.loopperf.warm, 'symbolized_s'),
    loopperf_cold_cpu_s: m(res.loopperf.cold, 'stop_cpu_s'), loopperf_warm_cpu_s: m(res.loopperf.warm, 'stop_cpu_s'),
    loopperf_cold_total_cpu_s: m(res.loopperf.cold, 'total_cpu_s'), loopperf_warm_total_cpu_s: m(res.loopperf.warm, 'total_cpu_s'),
    loopperf_cold_overhead_s: m(res.loopperf.cold, 'overhead_wall_s'), loopperf_warm_overhead_s: m(res.loopperf.warm, 'overhead_wall_s'),
    perf_cold_s: m(res.perf.cold, 'wall_s'), perf_warm_s: m(res.perf.warm, 'wall_s'),
    perf_cold_range: rng(res.perf.cold, 'wall_s'), perf_warm_range: rng(res.perf.warm, 'wall_s'),
    perf_cold_cpu_s: m(res.perf.cold, 'cpu_s'), perf_warm_cpu_s: m(res.perf.warm, 'cpu_s'),
  };
  return res;
}

// ---------------------------------------------------------------------------------------------
// 6. What heap names cost against the perf map: the whole of `record -p PID -d 6s` (start-up,
// sampling, naming, stop), its CPU by `perf stat -e task-clock` (exact, where /usr/bin/time counts
// 10 ms ticks of a ~0.2 s job), --js-names map and heap alternating on the same target. Two
// targets: busy.js (deep fib stacks, few collections) and the demo server under load (shallow
// stacks, ~20 collections a second, each starting the reader's memo over).

async function taskClockMs(args) {
  const f = path.join(opt.work, `tc-${process.pid}.txt`);
  const r = await run('perf', ['stat', '-x,', '-e', 'task-clock', '-o', f, '--', LP, ...args]);
  let ms = NaN;
  try { ms = Number((fs.readFileSync(f, 'utf8').split('\n').find((l) => l.includes('task-clock')) || '').split(',')[0]); } catch {}
  rm(f);
  return { ms, code: r.code };
}

async function benchNames() {
  const res = {};
  const out = path.join(opt.work, 'names.pb.gz');
  for (const [name, start] of [['busy.js 1', () => startBusy(1)], ['demo server under load', () => startDemo(3600)]]) {
    const t = await start();
    const pairs = [];
    try {
      for (let i = 0; i < P.namePairs; i++) {
        const pair = {};
        for (const mode of i % 2 ? ['heap', 'map'] : ['map', 'heap']) {
          const r = await taskClockMs(['record', '-p', String(t.pid), '-d', '6s', '--js-names', mode, '-o', out]);
          pair[mode] = r.ms;
          if (mode === 'heap') {
            const meta = lpMeta(out);
            pair.heap_reads = Number(meta['js_heap.reads']);
            pair.heap_samples = Number(meta['samples'] || NaN);
            pair.memo_hits = Number(meta['js_heap.memo_hits']);
            pair.derived = Number(meta['js_heap.derived']);
            pair.frames = Number(meta['js_heap.frames']);
          }
          rm(out);
        }
        pair.ratio = pair.heap / pair.map;
        pairs.push(pair);
      }
      log(`names: ${name} done`);
    } finally { await t.stop(); }
    const rs = pairs.map((p) => p.ratio);
    res[name] = { pairs, map_ms: median(pairs.map((p) => p.map)), heap_ms: median(pairs.map((p) => p.heap)),
      ratio: median(rs), range: [Math.min(...rs), Math.max(...rs)],
      reads: median(pairs.map((p) => p.heap_reads)),
      from_memo: median(pairs.map((p) => (p.memo_hits + (p.derived || 0)) / p.frames)) };
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Targets, report, main

function checkTargets(R) {
  const t = [];
  const add = (name, ok, detail, info = false, noise = false) => t.push({ name, ok, detail, info, noise });
  if (R.slowdown) {
    const v = R.slowdown.variants;
    // "No larger than perf's": fails only when loopperf's window mean is above perf's by more than
    // 1 point or the one-sided 95% noise bound of the difference, whichever is larger. Student t
    // with the smaller variant's degrees of freedom: with 3-6 windows the spread itself is only an
    // estimate, and the normal 1.645 made --quick fail on noise (+4.6% vs -0.7%, ± 8 points).
    for (const f of [99, 999, 4999]) {
      const a = v[`loopperf @${f}`], b = v[`perf -g @${f}`];
      if (!a || !b) continue;
      const A = a.slowdown_wall, B = b.slowdown_wall;
      const df = Math.min(A.n, B.n) - 1;
      const tol = Math.max(0.01, (df >= 1 ? T90[df - 1] || 1.645 : Infinity) * Math.hypot(A.se, B.se));
      add(`slowdown @${f} Hz: loopperf ≤ perf -g (+${(tol * 100).toFixed(1)} pt noise allowance)`, A.mean <= B.mean + tol,
        `loopperf ${ci(A)} vs perf ${ci(B)}`);
    }
    // Met when the mean is under 3%; missed only when the whole 95% interval is above it. In between
    // ("within noise") the run cannot tell, and the gate does not fail on it.
    const a = v['loopperf @999'];
    if (a) {
      const A = a.slowdown_wall;
      add('slowdown @999 Hz < 3% (mean over the windows)', A.mean - half95(A) < 0.03, ci(A), false, A.mean >= 0.03);
    }
    const lost = Object.entries(v).filter(([k]) => k.startsWith('loopperf')).reduce((s, [, x]) => s + x.lost.reduce((p, q) => p + (q || 0), 0), 0);
    add('(not a target) lost samples in the slowdown windows', lost === 0, `${lost} lost`, true);
  }
  if (R.stop) {
    const s = R.stop;
    add('stop-to-file < 1 s (10 s @999 Hz)', s.loopperf.stop_wall_s < 1, `${fx(s.loopperf.stop_wall_s)} s (loopperf's own figure: ${fx(s.loopperf.symbolized_s)} s)`);
    add('stop-to-file CPU ≥ 10× less than perf record + perf script + fold', s.cpu_ratio >= 10,
      `${fx(s.loopperf.stop_cpu_s)} s vs ${fx(s.perf.stop_cpu_s)} s: ${fx(s.cpu_ratio, 1)}×`);
    add('peak RSS < 64 MB (10 s recording)', s.loopperf.maxrss_kb < 64 * 1024, `${mb(s.loopperf.maxrss_kb * 1024)} MB`);
  }
  if (R.cost) {
    for (const r of R.cost.rows.filter((r) => r.tool === 'loopperf' && r.hz === 999 && r.threads === 16)) {
      add('no lost samples @999 Hz × 16 threads', r.lost === 0, `${r.lost} lost of ${r.samples}`);
    }
  }
  if (R.names) {
    for (const [name, x] of Object.entries(R.names)) {
      add(`heap names within 1.5× of map mode, whole record -d 6s CPU, ${name} (median of pairs)`, x.ratio <= 1.5,
        `${fx(x.ratio, 2)} (${fx(x.range[0], 2)}–${fx(x.range[1], 2)})`);
    }
  }
  if (R.memory) {
    const m = R.memory;
    add(`peak RSS < 64 MB (${m.seconds} s recording)`, m.peak_rss_kb < 64 * 1024, `${mb(m.peak_rss_kb * 1024)} MB`);
    add('RSS flat after the first minute (growth < 4 MB)', m.growth_after_60_kb < 4096, `+${mb(m.growth_after_60_kb * 1024)} MB after 60 s`);
  }
  WATCH.watchTargets(R.watch, add);
  return t;
}

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || '?';
  const perfV = spawnSync('perf', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const lpV = spawnSync(LP, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), cpu, cores: os.cpus().length, mem_gb: (os.totalmem() / 2 ** 30).toFixed(0),
    kernel: os.release(), node: process.version, perf: perfV, loopperf: lpV, load_at_start: load,
    nice: os.getPriority(), node_size: fileSize(fs.realpathSync(NODE)),
  };
}

function markdown(R) {
  const L = [];
  const m = R.machine;
  L.push(`Measured ${m.date} by \`scripts/bench.sh${R.quick ? " --quick" : ""}\` on ${m.cores} × ${m.cpu}, ${m.mem_gb} GB, Linux ${m.kernel}, ` +
    `node ${m.node} (${mb(m.node_size)} MB binary), ${m.perf}, loopperf at nice ${m.nice}. Load average at the start: ${m.load_at_start} ` +
    `(other builds were running: see "Noise").`);
  if (R.reused && Object.keys(R.reused).length) {
    L.push('');
    const from = {};
    for (const [k, run] of Object.entries(R.reused)) (from[run] ??= []).push(k);
    const parts = Object.entries(from).map(([run, ks]) => `section${ks.length > 1 ? 's' : ''} ${ks.join(', ')} from the run of ${run}`);
    L.push(`${parts.join('; ').replace(/^s/, 'S')} (\`--reuse\`); the rest from this run.`);
  }
  L.push('');
  if (R.slowdown) {
    const s = R.slowdown;
    L.push(`### 1. Target slowdown`);
    L.push('');
    L.push(`Job: \`${s.job}\` (rounds of fixed work: JS, JSON, crypto, zlib on the main thread; ${fx(s.round_ms, 1)} ms per round unprofiled, ` +
      `${s.rounds_per_window} rounds per window). Each profiler is attached with \`-p PID\` for a ${s.window_s} s window between two unprofiled ${s.window_s} s windows; ` +
      `${s.cycles} cycles, every variant once per cycle${R.quick ? ' (the 99 Hz pair every other cycle)' : ''} in a rotating order. Slowdown of a window = its mean round time / the mean of the two unprofiled windows around it − 1; ` +
      `the table gives the mean over a variant's windows ± the 95% confidence half-width (Student t). ` +
      `"Target µs/sample" = the fraction of the job's time lost / samples per second: what one sample costs the target, meaningful where the slowdown is well above its ± ` +
      `(the 4999 Hz rows). Unprofiled windows ranged ${fx(s.baseline_spread[0], 1)}–${fx(s.baseline_spread[1], 1)} ms per round: the machine's own drift.`);
    L.push('');
    L.push('| variant | slowdown (wall) | slowdown (CPU of the job) | per window (wall) | target µs/sample | lost |');
    L.push('|---|---|---|---|---|---|');
    for (const [k, x] of Object.entries(s.variants)) {
      L.push(`| \`${k}\` | ${ci(x.slowdown_wall)} | ${ci(x.slowdown_cpu)} | ${x.wall.map((w) => pct(w)).join(' ')} | ` +
        `${x.hz >= 999 ? fx(x.us_per_sample, 1) : ''} | ` +
        `${x.lost.length ? x.lost.reduce((a, b) => a + (b || 0), 0) : ''}${x.stop_us.length ? ` (stop ${fx(median(x.stop_us), 0)} µs/sample)` : ''} |`);
    }
    L.push('');
  }
  if (R.stop) {
    const s = R.stop;
    L.push(`### 2. Stop-to-file`);
    L.push('');
    L.push(`${s.loopperf.n} alternating pair(s) of ${P.stopSeconds} s recordings at 999 Hz of the demo server under load (\`scripts/demo/server.js\` + \`load.js\`, 4 in flight); ` +
      `stop = SIGINT to the profiler; wall and CPU from then until the file is on disk (perf: until \`perf record\` exits, plus \`perf script | awk -f scripts/bench/perf-fold.awk\`).`);
    L.push('');
    L.push('| pipeline | samples | stop → file (wall, median, range) | CPU after stop (median, range) | CPU while sampling | peak RSS | output |');
    L.push('|---|---|---|---|---|---|---|');
    const row = (name, x, extra = '') => L.push(`| ${name} | ${fx(x.samples, 0)} | ${fx(x.stop_wall_s)} s (${fx(x.stop_wall_range[0])}–${fx(x.stop_wall_range[1])}) | ` +
      `${fx(x.stop_cpu_s)} s (${fx(x.stop_cpu_range[0])}–${fx(x.stop_cpu_range[1])}) | ${fx(x.sampling_cpu_s)} s | ${mb(x.maxrss_kb * 1024)} MB | ${extra} |`);
    row('`loopperf record -F 999 -p PID` (auto)', s.loopperf, `${(s.loopperf.size / 1024).toFixed(0)} KB pprof; record says "symbolized in ${fx(s.loopperf.symbolized_s)} s"`);
    row('`perf record -e cpu-clock -g -F 999 -p PID` + `perf script` + fold', s.perf,
      `${mb(s.perf.data_size)} MB perf.data + ${(s.perf.size / 1024).toFixed(0)} KB folded; record stop ${fx(s.perf.record_stop_wall_s)} s / ${fx(s.perf.record_stop_cpu_s)} s CPU, script+fold ${fx(s.perf.script_wall_s)} s / ${fx(s.perf.script_cpu_s)} s CPU`);
    for (const [k, x] of Object.entries(s.modes)) {
      const extra = x.data_size ? `${mb(x.data_size)} MB perf.data + ${(x.size / 1024).toFixed(0)} KB folded` :
        `${(x.size / 1024).toFixed(0)} KB pprof${Number.isFinite(x.stop_avg_us) ? `; wall.stop_avg_us = ${x.stop_avg_us}` : ''}`;
      row(`\`${k}\` (1 run)`, x, extra);
    }
    L.push('');
    L.push(`Ratios (perf pipeline / loopperf): wall ${fx(s.wall_ratio, 1)}×, CPU ${fx(s.cpu_ratio, 1)}×.`);
    L.push('');
  }
  if (R.cost) {
    L.push(`### 3. Profiler cost per sample`);
    L.push('');
    L.push(`\`node scripts/bench/busy.js N\` (N worker threads spinning on JS + JSON), each profiler attached for ${R.cost.seconds} s. ` +
      `"sampling" = the profiler's CPU from start to the stop signal / samples; "to file" = all its CPU until a symbolized file exists ` +
      `(perf: \`perf record\` + \`perf script\` + fold) / samples. Ring = user stack + registers the kernel copies per sample × samples/s.`);
    L.push('');
    L.push('| profiler | Hz | threads | samples/s | lost | µs/sample sampling | µs/sample to file | ring MB/s | peak RSS |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const r of R.cost.rows) {
      L.push(`| \`${r.tool}\` | ${r.hz} | ${r.threads} | ${fx(r.samples_per_s, 0)} | ${r.lost} | ${fx(r.us_per_sample, 1)} | ${fx(r.us_per_sample_total, 1)} | ` +
        `${r.ring_mb_per_s ? fx(r.ring_mb_per_s, 1) : '—'} | ${mb(r.maxrss_kb * 1024)} MB${Number.isFinite(r.stop_avg_us) ? ` (stop ${r.stop_avg_us} µs)` : ''} |`);
    }
    L.push('');
  }
  if (R.memory) {
    const x = R.memory;
    L.push(`### 4. Memory over a ${Math.round(x.seconds / 60)}-minute recording`);
    L.push('');
    L.push(`\`loopperf record -F 999 -p PID\` of the demo server under load for ${x.seconds} s, VmRSS every 5 s; \`perf record -e cpu-clock -g -F 999 -p PID\` on the same target at the same time.`);
    L.push('');
    L.push('| figure | loopperf | perf record |');
    L.push('|---|---|---|');
    L.push(`| samples | ${x.samples} (${x.lost} lost) | ${x.perf_samples} |`);
    L.push(`| peak RSS (whole run, incl. symbolization) | ${mb(x.peak_rss_kb * 1024)} MB | ${mb(x.perf_peak_rss_kb * 1024)} MB |`);
    L.push(`| peak RSS while sampling | ${mb(x.hwm_sampling_kb * 1024)} MB | |`);
    L.push(`| RSS at 60 s → largest after 60 s → at the end | ${mb(x.rss_at_60_kb * 1024)} → ${mb(x.rss_max_after_60_kb * 1024)} → ${mb(x.rss_end_kb * 1024)} MB | |`);
    L.push(`| output file | ${(x.size / 1024).toFixed(0)} KB pprof | ${mb(x.perf_data_size)} MB perf.data (before \`perf script\`) |`);
    L.push(`| stop → file | ${fx(x.stop_wall_s)} s, ${fx(x.stop_cpu_s)} s CPU (total CPU ${fx(x.total_cpu_s)} s) | |`);
    L.push('');
    const pts = x.series.filter((_, i) => i % 6 === 5 || i === 0);
    L.push('RSS over time (MB): ' + pts.map((p) => `${Math.round(p.t)} s ${mb(p.lp_rss_kb * 1024)}`).join(' · '));
    L.push('');
  }
  if (R.churn) {
    const x = R.churn;
    L.push(`### 4b. Memory under code churn, heap names against none (${Math.round(x.seconds / 60)} minutes each)`);
    L.push('');
    L.push(`\`loopperf record -F 999 --js-names heap -p PID\`, then \`--js-names none\` on a fresh target, of \`tests/integration/targets/js_churn.js\` (started with no flags: new functions by \`new Function\` every millisecond, deopts, allocation), VmRSS every 5 s.`);
    L.push('');
    const runs = [x, ...(x.none ? [x.none] : [])];
    const row = (label, f) => L.push(`| ${label} | ${runs.map(f).join(' | ')} |`);
    L.push(`| figure | ${runs.map((r) => `\`--js-names ${r.mode || 'heap'}\``).join(' | ')} |`);
    L.push(`|---|${runs.map(() => '---|').join('')}`);
    row('samples', (r) => `${r.samples} (${r.lost} lost)`);
    row('RSS at 60 s → largest after 60 s → at the end', (r) => `${mb(r.rss_at_60_kb * 1024)} → ${mb(r.rss_max_after_60_kb * 1024)} → ${mb(r.rss_end_kb * 1024)} MB`);
    row('growth from 60 s to the end', (r) => `${(r.rss_end_kb - r.rss_at_60_kb) >= 0 ? '+' : ''}${mb((r.rss_end_kb - r.rss_at_60_kb) * 1024)} MB`);
    row('peak RSS (whole run)', (r) => `${mb(r.peak_rss_kb * 1024)} MB`);
    row('distinct stacks / tree nodes at the end', (r) => `${r.meta['stacks.distinct'] ?? '?'} / ${r.meta['stacks.nodes'] ?? '?'}`);
    row('functions named / frames named / invalid', (r) => r.mode === 'none' ? '—' : `${r.meta['js_heap.functions'] ?? '?'} / ${r.meta['js_heap.named'] ?? '?'} / ${r.meta['js_heap.invalid'] ?? '?'}`);
    L.push('');
    for (const r of runs) {
      const pts = r.series.filter((_, i) => i % 6 === 5 || i === 0);
      L.push(`RSS over time, ${r.mode || 'heap'} (MB): ` + pts.map((p) => `${Math.round(p.t)} s ${mb(p.lp_rss_kb * 1024)}`).join(' · '));
      L.push('');
    }
  }
  if (R.symbols) {
    const s = R.symbols.summary;
    L.push(`### 5. Symbol loading (${mb(R.machine.node_size)} MB node binary with DWARF)`);
    L.push('');
    const before = s.loopperf_cold_total_cpu_s !== undefined;
    L.push(`A 3 s recording of the demo server, ${R.symbols.loopperf.cold.length} cold + ${R.symbols.loopperf.warm.length} warm, alternating; ` +
      `cold = \`sync; echo 3 > /proc/sys/vm/drop_caches\` ${before ? 'before loopperf starts' : 'just before the stop (too late: see below)'}${R.symbols.dropped ? '' : ' (FAILED: not root?)'}. ` +
      `"Overhead" = loopperf's wall time beyond the 3 s of sampling (start-up + stop). perf: \`perf script | fold\` of a 3 s perf.data of the same target, cold and warm.`);
    L.push('');
    L.push('| | loopperf stop → file | its "symbolized in" | CPU after stop | overhead (wall) | total CPU | perf script + fold | CPU |');
    L.push('|---|---|---|---|---|---|---|---|');
    for (const c of ['cold', 'warm']) {
      const g = (k) => s[`loopperf_${c}_${k}`];
      L.push(`| ${c} | ${fx(g('s'))} s (${fx(g('range')[0])}–${fx(g('range')[1])}) | ${fx(g('symbolized_s'))} s | ${fx(g('cpu_s'))} s | ${before ? fx(g('overhead_s')) + ' s' : 'n/a'} | ${before ? fx(g('total_cpu_s')) + ' s' : 'n/a'} | ` +
        `${fx(s[`perf_${c}_s`])} s (${fx(s[`perf_${c}_range`][0])}–${fx(s[`perf_${c}_range`][1])}) | ${fx(s[`perf_${c}_cpu_s`])} s |`);
    }
    L.push('');
  }
  if (R.names) {
    L.push('### 6. Heap names against the perf map');
    L.push('');
    L.push(`The whole of \`loopperf record -p PID -d 6s\` (start-up, sampling at the default rate, naming, stop), its CPU from \`perf stat -e task-clock\`, ` +
      `\`--js-names map\` and \`heap\` alternating, ${P.namePairs} pairs per target; both targets run with \`--perf-basic-prof --interpreted-frames-native-stack\` so that map mode names everything too.`);
    L.push('');
    L.push('| target | map | heap | heap / map, median (range) | heap reads (\`process_vm_readv\`) per recording | frames named without a read |');
    L.push('|---|---|---|---|---|---|');
    for (const [name, x] of Object.entries(R.names)) {
      L.push(`| ${name} | ${fx(x.map_ms / 1000)} s | ${fx(x.heap_ms / 1000)} s | **${fx(x.ratio, 2)}** (${fx(x.range[0], 2)}–${fx(x.range[1], 2)}) | ${fx(x.reads, 0)} | ${fx(x.from_memo * 100, 1)}% |`);
    }
    L.push('');
  }
  L.push(...WATCH.watchMarkdown(R.watch));
  L.push('### Targets');
  L.push('');
  L.push('| target | result | measured |');
  L.push('|---|---|---|');
  for (const t of R.targets) L.push(`| ${t.name} | ${t.info ? (t.ok ? 'none' : 'some') : t.noise ? 'within noise (mean above, interval reaches below)' : t.ok ? 'met' : '**missed**'} | ${t.detail} |`);
  L.push('');
  return L.join('\n');
}

async function main() {
  if (opt.render) {
    // Re-renders an earlier run's results (e.g. after a change of this file's tables).
    const R = JSON.parse(fs.readFileSync(opt.render, 'utf8'));
    R.targets = checkTargets(R);
    const md = markdown(R);
    if (opt.md) fs.writeFileSync(opt.md, md + '\n'); else console.log(md);
    return;
  }
  fs.mkdirSync(opt.work, { recursive: true });
  const R = { quick: Q, machine: machine(), params: P };
  const t0 = now();
  if (want('slowdown')) { log('1/5 target slowdown'); R.slowdown = await benchSlowdown(); }
  if (want('stop')) { log('2/5 stop-to-file'); R.stop = await benchStop(); }
  if (want('cost')) { log('3/5 cost per sample'); R.cost = await benchCost(); }
  if (!Q && want('memory')) { log(`4/5 memory (${opt.memorySeconds} s)`); R.memory = await benchMemory(); }
  if (!Q && want('churn')) { log(`4b/5 memory under code churn (${opt.churnSeconds} s)`); R.churn = await benchChurn(); }
  if (!Q && want('symbols')) { log('5/5 symbol loading'); R.symbols = await benchSymbols(); }
  if (!Q && want('names')) { log('6 heap names against the perf map'); R.names = await benchNames(); }
  if (want('watch')) {
    log(`7 watch (${Q ? 60 : opt.watchSeconds} s healthy run)`);
    R.watch = await WATCH.benchWatch({ loopperf: LP, work: path.join(opt.work, 'watch'), longSeconds: Q ? 60 : opt.watchSeconds, quick: Q });
  }
  if (opt.reuse) {
    const old = JSON.parse(fs.readFileSync(opt.reuse, 'utf8'));
    R.reused = {};
    for (const k of ['slowdown', 'stop', 'cost', 'memory', 'churn', 'symbols', 'names', 'watch']) {
      // a section the old file had itself reused keeps the run it came from
      if (!R[k] && old[k]) { R[k] = old[k]; R.reused[k] = (old.reused && old.reused[k]) || `${old.machine.date}, ${old.machine.loopperf}, load ${old.machine.load_at_start}`; }
    }
  }
  R.targets = checkTargets(R);
  R.elapsed_s = (now() - t0) / 1000;
  R.machine.load_at_end = os.loadavg().map((x) => x.toFixed(1)).join(' ');
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(R, null, 1));
  const md = markdown(R);
  if (opt.md) fs.writeFileSync(opt.md, md + '\n');
  // The ratios, on stdout.
  console.log(`loopperf bench${Q ? ' --quick' : ''}: ${fx(R.elapsed_s, 0)} s, load ${R.machine.load_at_start} → ${R.machine.load_at_end}`);
  if (R.slowdown) {
    for (const [k, x] of Object.entries(R.slowdown.variants)) {
      console.log(`  slowdown ${k.padEnd(22)} wall ${ci(x.slowdown_wall).padStart(16)}  CPU ${ci(x.slowdown_cpu).padStart(16)}`);
    }
  }
  if (R.stop) {
    console.log(`  stop-to-file  loopperf ${fx(R.stop.loopperf.stop_wall_s)} s / ${fx(R.stop.loopperf.stop_cpu_s)} s CPU; perf pipeline ${fx(R.stop.perf.stop_wall_s)} s / ${fx(R.stop.perf.stop_cpu_s)} s CPU; CPU ratio ${fx(R.stop.cpu_ratio, 1)}×`);
  }
  for (const t of R.targets) console.log(`  ${t.info ? 'info  ' : t.noise ? 'noise ' : t.ok ? 'ok    ' : 'MISSED'} ${t.name}: ${t.detail}`);
  const missed = R.targets.filter((t) => !t.ok && !t.info).length;
  process.exitCode = missed ? 1 : 0;
}

main().catch((e) => { console.error('bench.js:', e.stack || e); killAll(); process.exit(70); });
