// The watch bench (issue 19's targets): what `loopperf watch` costs a server it watches, what it
// costs itself over a long healthy run, and which injected stalls it catches. Used by bench.js
// (section "watch"), or alone:
//   node scripts/bench/watch.js --loopperf build/loopperf [--work DIR] [--long-seconds 1800] [--quick]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '../..');
const SERVER = path.join(REPO, 'tests/integration/targets/watch_server.js');
const BUSY_LOOP = path.join(__dirname, 'busy_loop.js');
const LOADGEN = path.join(__dirname, 'load-gen.js');
const CLK_TCK = 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('bench watch:', ...a);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fx = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function cpuSeconds(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch { return NaN; }
}
function hwmKb(pid) {
  try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+)/m)[1]); } catch { return NaN; }
}
function rssKb(pid) {
  try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]); } catch { return NaN; }
}
async function waitFile(file, ms = 20000) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
    try { if (fs.statSync(file).size > 0) return fs.readFileSync(file, 'utf8'); } catch {}
  }
  throw new Error(`timed out waiting for ${file}`);
}

const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch {} } });

async function startNode(script, work, env = {}) {
  const ready = path.join(work, `ready-${Math.random().toString(36).slice(2)}`);
  const child = spawn(process.execPath, [script], { env: { ...process.env, READY_FILE: ready, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const text = await waitFile(ready);
  const [pid, port] = text.split(' ').map(Number);
  return { child, pid, port };
}

// `loopperf watch -p PID ...`, resolved once it says it is watching; `lines` are its incidents.
async function startWatch(lp, pid, dir, extra = []) {
  const child = spawn(lp, ['watch', '-p', String(pid), '-o', dir, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const w = { child, lines: [], stderr: '' };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      w.lines.push({ at: Date.now(), inc: JSON.parse(buf.slice(0, i)) });
      buf = buf.slice(i + 1);
    }
  });
  w.done = new Promise((res) => child.on('close', (code) => { live.delete(child); res(code); }));
  await new Promise((res, rej) => {
    child.stderr.on('data', (d) => { w.stderr += d; if (/watching pid/.test(w.stderr)) res(); });
    child.on('close', () => rej(new Error(`watch ended: ${w.stderr}`)));
  });
  return w;
}

function load(port, ms, env) {
  return new Promise((res) => {
    const c = spawn(process.execPath, [LOADGEN, String(port), String(ms)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('close', () => res(JSON.parse(out)));
  });
}

// A. The server's throughput (closed loop, 8 connections) and p99 latency (bounded: 8 connections, at
// most one request per 4 ms each), watched against unwatched, in alternating windows; loopperf's CPU
// over its watched windows.
async function cost(lp, work, pairs, windowMs) {
  const srv = await startNode(SERVER, work);
  const runs = { unwatched: [], watched: [] };
  const lpCpu = [];
  try {
    await load(srv.port, 2000, { CONNECTIONS: '8' });  // warm up (JIT)
    for (let i = 0; i < pairs; i++) {
      for (const watched of i % 2 ? [true, false] : [false, true]) {
        let w = null, c0 = 0;
        if (watched) {
          w = await startWatch(lp, srv.pid, path.join(work, 'cost-incidents'));
          c0 = cpuSeconds(w.child.pid);
        }
        const t0 = Date.now();
        const srvCpu0 = cpuSeconds(srv.pid);
        const closed = await load(srv.port, windowMs, { CONNECTIONS: '8' });
        // The server's own CPU per request (its threads, the kernel's work for its system calls and the
        // tracepoints they hit): steadier than throughput on a shared VM, whose windows drift by 20%.
        const usPerRequest = (cpuSeconds(srv.pid) - srvCpu0) * 1e6 / closed.requests;
        const bounded = await load(srv.port, windowMs, { CONNECTIONS: '8', RATE_MS: '4' });
        if (w) {
          lpCpu.push((cpuSeconds(w.child.pid) - c0) / ((Date.now() - t0) / 1000));
          w.child.kill('SIGKILL');  // no stop file: the windows are about cost
          await w.done;
        }
        runs[watched ? 'watched' : 'unwatched'].push({ rps: closed.rps, p99_ms: bounded.p99_ms, bounded_rps: bounded.rps, us_per_request: usPerRequest });
        log(`cost ${watched ? 'watched  ' : 'unwatched'} ${fx(closed.rps, 0)} req/s, ${fx(usPerRequest, 1)} µs CPU/request, bounded p99 ${fx(bounded.p99_ms)} ms`);
      }
    }
  } finally { srv.child.kill('SIGKILL'); }
  const med = (k, f) => median(runs[k].map(f));
  return {
    pairs, window_s: windowMs / 1000, runs,
    rps_ratio: med('watched', (r) => r.rps) / med('unwatched', (r) => r.rps) - 1,
    bounded_rps: { watched: med('watched', (r) => r.bounded_rps), unwatched: med('unwatched', (r) => r.bounded_rps) },
    bounded_rps_ratio: med('watched', (r) => r.bounded_rps) / med('unwatched', (r) => r.bounded_rps) - 1,
    p99_delta_ms: med('watched', (r) => r.p99_ms) - med('unwatched', (r) => r.p99_ms),
    rps: { watched: med('watched', (r) => r.rps), unwatched: med('unwatched', (r) => r.rps) },
    us_per_request: { watched: med('watched', (r) => r.us_per_request), unwatched: med('unwatched', (r) => r.us_per_request) },
    p99_ms: { watched: med('watched', (r) => r.p99_ms), unwatched: med('unwatched', (r) => r.p99_ms) },
    lp_cpu_share_under_load: median(lpCpu),
  };
}

// B. A long healthy run: a loop ~90% utilized in turns of ~9 ms. loopperf's RSS every 10 s, its CPU,
// and the incidents it wrote (none is right).
async function long(lp, work, seconds) {
  const result = path.join(work, 'busy-result.json');
  const tgt = await startNode(BUSY_LOOP, work, { RESULT_FILE: result });
  const dir = path.join(work, 'long-incidents');
  const w = await startWatch(lp, tgt.pid, dir);
  const series = [];
  const c0 = cpuSeconds(w.child.pid), t0 = Date.now();
  try {
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(10000);
      series.push({ t: (Date.now() - t0) / 1000, rss_kb: rssKb(w.child.pid) });
      if (series.length % 30 === 0) log(`long run: ${Math.round(series.at(-1).t)} s, RSS ${fx(series.at(-1).rss_kb / 1024, 1)} MB, ${w.lines.length} incidents`);
    }
  } finally {
    const cpu = cpuSeconds(w.child.pid) - c0;
    w.child.kill('SIGKILL');
    await w.done;
    tgt.child.kill('SIGTERM');
    await waitFile(result).catch(() => '{}');
    var own = JSON.parse(fs.readFileSync(result, 'utf8') || '{}');  // eslint-disable-line no-var
    tgt.child.kill('SIGKILL');
    var lpCpu = cpu / ((Date.now() - t0) / 1000);  // eslint-disable-line no-var
  }
  const after60 = series.filter((x) => x.t >= 60).map((x) => x.rss_kb);
  return {
    seconds, series, incidents: w.lines.length, lp_cpu_share: lpCpu, target: own,
    rss_max_kb: Math.max(...series.map((x) => x.rss_kb)), rss_at_60_kb: after60[0], rss_end_kb: series.at(-1)?.rss_kb,
    growth_after_60_kb: after60.length ? Math.max(...after60) - after60[0] : NaN,
  };
}

// C. Injected stalls: N of 300 ms at random times (0.5-2.5 s apart), each on the CPU
// (authMiddleware) or off it (checkLicense, execSync of a sleep), chosen at random.
async function stalls(lp, work, n) {
  const srv = await startNode(SERVER, work);
  const w = await startWatch(lp, srv.pid, path.join(work, 'stall-incidents'));
  const injected = [];
  const http = require('node:http');
  const get = (p) => new Promise((res, rej) => http.get({ host: '127.0.0.1', port: srv.port, path: p }, (r) => { r.resume(); r.on('end', res); }).on('error', rej));
  try {
    for (let i = 0; i < n; i++) {
      await sleep(500 + Math.random() * 2000);
      const kind = Math.random() < 0.5 ? 'cpu' : 'off';
      const t0 = Date.now();
      await get(`/stall/${kind}?ms=300`);
      injected.push({ kind, sent: t0, answered: Date.now() });
    }
    await sleep(2000);
  } finally {
    var rss = rssKb(w.child.pid), hwm = hwmKb(w.child.pid);  // eslint-disable-line no-var
    w.child.kill('SIGKILL');
    await w.done;
    srv.child.kill('SIGKILL');
  }
  const rows = injected.map((s) => {
    // The incident whose time overlaps the request's.
    const hit = w.lines.find(({ inc }) => {
      const start = Date.parse(inc.start);
      return inc.trigger === 'stall' && start < s.answered && start + inc.duration_ms > s.sent;
    });
    const culprit = s.kind === 'cpu' ? 'authMiddleware' : 'checkLicense';
    return {
      kind: s.kind, caught: !!hit, named: !!hit && new RegExp(`\\b${culprit}\\b`).test(hit.inc.summary),
      duration_ms: hit ? hit.inc.duration_ms : null, written_after_ms: hit ? hit.at - s.answered : null,
      summary: hit ? hit.inc.summary : null,
    };
  });
  const caught = rows.filter((r) => r.caught);
  return {
    injected: n, caught: caught.length, named: rows.filter((r) => r.named).length,
    written_within_1s: caught.filter((r) => r.written_after_ms <= 1000).length,
    written_after_ms_max: Math.max(...caught.map((r) => r.written_after_ms)),
    written_after_ms_median: median(caught.map((r) => r.written_after_ms)),
    incidents: w.lines.length, rows, rss_after_kb: rss, hwm_kb: hwm,
  };
}

async function benchWatch({ loopperf, work, longSeconds = 1800, quick = false, parts = ['cost', 'long', 'stalls'] }) {
  fs.mkdirSync(work, { recursive: true });
  const R = {};
  if (parts.includes('stalls')) { log('injected stalls'); R.stalls = await stalls(loopperf, work, 20); }
  if (parts.includes('cost')) { log('cost under load'); R.cost = await cost(loopperf, work, quick ? 2 : 4, quick ? 3000 : 5000); }
  if (parts.includes('long')) { log(`long healthy run (${longSeconds} s)`); R.long = await long(loopperf, work, longSeconds); }
  return R;
}

function watchTargets(W, add) {
  if (!W) return;
  if (W.cost) {
    // Under the bounded load (the target's wording): requests/s within 1%. The closed loop's maximum
    // drifts by 20-45% between windows on the shared VM: reported, not a target.
    add('watch: requests/s under a bounded load within 1% of unwatched', Math.abs(W.cost.bounded_rps_ratio) <= 0.01,
      `${fx(W.cost.bounded_rps.watched, 0)} vs ${fx(W.cost.bounded_rps.unwatched, 0)} req/s (${fx(W.cost.bounded_rps_ratio * 100, 1)}%)`);
    add('(not a target) closed-loop throughput, watched against unwatched', true,
      `${fx(W.cost.rps.watched, 0)} vs ${fx(W.cost.rps.unwatched, 0)} req/s (${fx(W.cost.rps_ratio * 100, 1)}%); ` +
      `server CPU ${fx(W.cost.us_per_request.watched, 1)} vs ${fx(W.cost.us_per_request.unwatched, 1)} µs per request`, true);
    add('watch: p99 latency within 1 ms of unwatched', W.cost.p99_delta_ms <= 1,
      `${fx(W.cost.p99_ms.watched)} vs ${fx(W.cost.p99_ms.unwatched)} ms`);
  }
  if (W.long) {
    add('watch: loopperf CPU ≤ 1% of a core while the loop is healthy', W.long.lp_cpu_share <= 0.01, `${fx(W.long.lp_cpu_share * 100)}% over ${W.long.seconds} s`);
    add('watch: RSS ≤ 32 MB and flat', W.long.rss_max_kb <= 32 * 1024 && W.long.growth_after_60_kb <= 2048,
      `max ${fx(W.long.rss_max_kb / 1024, 1)} MB, +${fx(W.long.growth_after_60_kb / 1024, 1)} MB after the first minute`);
    add('watch: no incident on a healthy loop at ~90% utilization', W.long.incidents === 0,
      `${W.long.incidents} incidents in ${W.long.seconds} s (target: utilization ${fx(W.long.target.utilization)}, longest delay ${fx(W.long.target.max_delay_ms, 0)} ms)`);
  }
  if (W.stalls) {
    add('watch: ≥ 19 of 20 injected stalls of 300 ms captured', W.stalls.caught >= 19, `${W.stalls.caught} of ${W.stalls.injected}`);
    add('watch: each written within 1 s of its end, naming its culprit', W.stalls.written_within_1s === W.stalls.caught && W.stalls.named === W.stalls.caught,
      `${W.stalls.written_within_1s} within 1 s (median ${fx(W.stalls.written_after_ms_median, 0)} ms, max ${fx(W.stalls.written_after_ms_max, 0)} ms), ${W.stalls.named} named`);
  }
}

function watchMarkdown(W) {
  if (!W) return [];
  const L = ['### Watch', ''];
  if (W.stalls) {
    const s = W.stalls;
    L.push(`Injected stalls: ${s.injected} requests of 300 ms to \`tests/integration/targets/watch_server.js\` at random times (0.5–2.5 s apart), each ` +
      `on the CPU (\`authMiddleware\`: pbkdf2Sync rounds) or off it (\`checkLicense\`: execSync of a sleep) at random; \`watch --json\` with its defaults. ` +
      `Caught ${s.caught} of ${s.injected}, ${s.named} naming the culprit; written ${fx(s.written_after_ms_median, 0)} ms (median), ` +
      `${fx(s.written_after_ms_max, 0)} ms (max) after the stalled request was answered; ${s.incidents} incidents in all. ` +
      `loopperf's RSS after them ${fx(s.rss_after_kb / 1024, 1)} MB (peak ${fx(s.hwm_kb / 1024, 1)} MB: an incident's profile is built with node's symbol table).`, '');
  }
  if (W.cost) {
    const c = W.cost;
    L.push(`Cost under load: the same server, ${c.pairs} pairs of alternating windows (watched, unwatched), each ${c.window_s} s of closed-loop load (8 connections) ` +
      `then ${c.window_s} s of bounded load (8 connections, one request per 4 ms each) from \`scripts/bench/load-gen.js\`; medians.`, '');
    const spread = (k, f) => { const xs = c.runs[k].map(f); return `${fx(Math.min(...xs), 0)}–${fx(Math.max(...xs), 0)}`; };
    L.push('| | requests/s (bounded load) | p99 latency (bounded load) | requests/s (closed loop) | server CPU per request (closed loop) |', '|---|---|---|---|---|');
    L.push(`| unwatched | ${fx(c.bounded_rps.unwatched, 0)} | ${fx(c.p99_ms.unwatched)} ms | ${fx(c.rps.unwatched, 0)} (windows ${spread('unwatched', (r) => r.rps)}) | ${fx(c.us_per_request.unwatched, 1)} µs |`);
    L.push(`| watched | ${fx(c.bounded_rps.watched, 0)} (${c.bounded_rps_ratio >= 0 ? '+' : ''}${fx(c.bounded_rps_ratio * 100, 1)}%) | ${fx(c.p99_ms.watched)} ms (${c.p99_delta_ms >= 0 ? '+' : ''}${fx(c.p99_delta_ms)} ms) | ` +
      `${fx(c.rps.watched, 0)} (windows ${spread('watched', (r) => r.rps)}) | ${fx(c.us_per_request.watched, 1)} µs |`);
    L.push('', `loopperf's own CPU in the watched windows (a loop under load turns thousands of times a second; each turn is two tracepoint records): ${fx(c.lp_cpu_share_under_load * 100)}% of a core.`, '');
  }
  if (W.long) {
    const g = W.long;
    L.push(`Long healthy run: \`scripts/bench/busy_loop.js\` (a timer doing ~9 ms of work every 10 ms: utilization ${fx(g.target.utilization)} by its own ` +
      `eventLoopUtilization, longest delay ${fx(g.target.max_delay_ms, 0)} ms) watched for ${g.seconds} s with the defaults: ${g.incidents} incidents; ` +
      `loopperf's CPU ${fx(g.lp_cpu_share * 100)}% of a core; RSS ${fx(g.rss_at_60_kb / 1024, 1)} MB after a minute, ${fx(g.rss_end_kb / 1024, 1)} MB at the end, ` +
      `${fx(g.rss_max_kb / 1024, 1)} MB at most.`, '');
  }
  return L;
}

module.exports = { benchWatch, watchTargets, watchMarkdown };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const o = { loopperf: path.join(REPO, 'build/loopperf'), work: fs.mkdtempSync(path.join(os.tmpdir(), 'lp-watch-bench-')), longSeconds: 1800, quick: false, json: null, parts: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--loopperf') o.loopperf = path.resolve(argv[++i]);
    else if (a === '--work') o.work = path.resolve(argv[++i]);
    else if (a === '--long-seconds') o.longSeconds = Number(argv[++i]);
    else if (a === '--quick') { o.quick = true; o.longSeconds = 60; }
    else if (a === '--json') o.json = path.resolve(argv[++i]);
    else if (a === '--parts') o.parts = argv[++i].split(',');
    else { console.error(`watch.js: unknown argument ${a}`); process.exit(2); }
  }
  benchWatch(o).then((W) => {
    if (o.json) fs.writeFileSync(o.json, JSON.stringify(W, null, 1));
    console.log(watchMarkdown(W).join('\n'));
    const t = [];
    watchTargets(W, (name, ok, detail) => t.push({ name, ok, detail }));
    for (const x of t) console.log(`  ${x.ok ? 'ok    ' : 'MISSED'} ${x.name}: ${x.detail}`);
    process.exit(t.some((x) => !x.ok) ? 1 : 0);
  }).catch((e) => { console.error(e.stack || e); process.exit(70); });
}
