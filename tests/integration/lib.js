// Shared helpers for integration tests: real node targets, the real loopperf binary, Google's
// real pprof tool. Readiness files instead of sleeps; tolerances instead of exact counts.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const LOOPPERF = process.env.LOOPPERF || path.resolve(__dirname, '../../build/loopperf');
const PPROF = process.env.PPROF || path.resolve(path.dirname(LOOPPERF), 'pprof');
const TARGETS = path.join(__dirname, 'targets');

function tmpdir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `lp-${tag}-`));
}

// Blocks (without spinning the CPU hard) until `file` exists or the timeout passes.
function waitForFile(file, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!ready(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    Atomics.wait(cell, 0, 0, 10);
  }
}

// Waits until `file` exists and is not empty (a writer may have created it but not written yet).
function ready(file) {
  try { return fs.statSync(file).size > 0; } catch { return false; }
}

async function waitForFileAsync(file, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!ready(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Starts `node [nodeArgs] targets/<script> [args]` with READY_FILE set; resolves once the target
// has written it. The child is killed when the test process exits. `node`: another node binary
// (nodeBinary(major)) instead of the one running the tests.
async function startTarget(script, { node = process.execPath, nodeArgs = ['--perf-basic-prof'], args = [], env = {}, cwd } = {}) {
  const dir = tmpdir('target');
  const ready = path.join(dir, 'ready');
  const child = spawn(node, [...nodeArgs, path.join(TARGETS, script), ...args], {
    cwd: cwd || dir,
    env: { ...process.env, READY_FILE: ready, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const onExit = () => { try { child.kill('SIGKILL'); } catch {} };
  process.on('exit', onExit);
  await waitForFileAsync(ready);
  return { child, pid: child.pid, dir, ready, onExit };
}

function stopTarget(t) {
  if (t.onExit) process.removeListener('exit', t.onExit);
  try { t.child.kill('SIGKILL'); } catch {}
  try { fs.rmSync(t.dir, { recursive: true, force: true }); } catch {}
  try { fs.rmSync(`/tmp/perf-${t.pid}.map`, { force: true }); } catch {}
}

// Runs loopperf synchronously; returns {status, stdout, stderr}.
function loopperf(args, opts = {}) {
  const r = spawnSync(LOOPPERF, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.error) throw r.error;
  return r;
}

// Runs loopperf asynchronously (the target keeps running in this process's event loop).
function loopperfAsync(args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(LOOPPERF, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, pid: child.pid }));
    if (opts.onSpawn) opts.onSpawn(child);
  });
}

function pprof(args) {
  const r = spawnSync(PPROF, args, { encoding: 'utf8', timeout: 60000, maxBuffer: 256 << 20, env: { ...process.env, PPROF_TMPDIR: os.tmpdir(), HOME: os.tmpdir() } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`pprof ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

// Parses `pprof -traces` into [{labels: {thread, tid}, value, frames: [leaf..root]}].
function traces(file) {
  const out = pprof(['-traces', '-sample_index=samples', file]);
  const blocks = out.split(/^-+\+-+$/m).slice(1);
  const result = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const labels = {};
    let value = 0;
    const frames = [];
    for (const line of lines) {
      const label = line.match(/^\s+(\S+):\s+(.*)$/);
      if (label && frames.length === 0 && !/^\s+\d+\s/.test(line)) {
        labels[label[1]] = label[2].trim().replace(/^\[|\]$/g, '');
        continue;
      }
      const first = line.match(/^\s+(\d+)\s+(.*)$/);
      if (first && frames.length === 0) {
        value = Number(first[1]);
        frames.push(first[2].trim());
      } else {
        frames.push(line.trim());
      }
    }
    if (frames.length) result.push({ labels, value, frames });
  }
  return result;
}

// `pprof -tags [args] FILE` -> { phase: { timers: 0.99, ... }, activity: {...}, role: {...}, ... }
function tagShares(file, args = []) {
  const out = pprof(['-tags', ...args, file]);
  const shares = {};
  let key = null;
  for (const line of out.split('\n')) {
    const head = line.match(/^\s*(\S+): Total /);
    if (head) {
      key = head[1];
      shares[key] = {};
      continue;
    }
    const row = line.match(/^\s+\S+\s+\(\s*([\d.]+)%\):\s+(.+?)\s*$/);
    if (row && key) shares[key][row[2]] = Number(row[1]) / 100;
  }
  return shares;
}

function share(list, pred) {
  const total = list.reduce((a, t) => a + t.value, 0);
  const hit = list.filter(pred).reduce((a, t) => a + t.value, 0);
  return total ? hit / total : 0;
}

function isAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// "State:" from /proc/PID/status: R, S, t (traced), T (stopped), Z ...
function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)[1];
  } catch { return null; }
}

function tracerPid(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^TracerPid:\s+(\d+)/m)[1]);
  } catch { return -1; }
}

// CPU seconds a thread (or, with tid = pid, the main thread) has used so far: utime + stime from
// /proc/PID/task/TID/stat, in clock ticks (USER_HZ = 100). 0 once it is gone.
function cpuSeconds(pid, tid = pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return 0; }
}

// CPU seconds of the whole process, every thread (live or ended) included: /proc/PID/stat.
function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch { return 0; }
}

// Targets of /proc/PID/fd links (readlink), skipping fds that close while we look.
function fdTargets(pid) {
  let fds = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return []; }
  const out = [];
  for (const fd of fds) {
    try { out.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch {}
  }
  return out;
}

// Polls every 10 ms until pred() is true; throws after timeoutMs naming `what`.
async function until(pred, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Source of a named JavaScript function that burns `ms` of its own CPU time when called (CPU, not
// wall time: the machine may be loaded), for targets written by the tests.
function cpuBurner(name) {
  return `
function ${name}(ms) {
  const start = process.cpuUsage();
  let sink = 0;
  for (;;) {
    for (let i = 0; i < 1e5; i++) sink += Math.sqrt(i + sink % 7);
    const u = process.cpuUsage(start);
    if (u.user + u.system >= ms * 1000) return sink;
  }
}
`;
}

// The result of a loopperfAsync run that signals were sent to, within timeoutMs. A loopperf that
// does not end is described (the state and kernel wait of each of its threads), killed, and the
// test fails with that, instead of the whole file hanging until ctest's timeout.
async function settled(done, child, what, timeoutMs = 30000) {
  let timer;
  const r = await Promise.race([done, new Promise((res) => { timer = setTimeout(() => res(null), timeoutMs); })]);
  clearTimeout(timer);
  if (r) return r;
  const threads = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${child.pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
      let wchan = '';
      try { wchan = fs.readFileSync(`/proc/${child.pid}/task/${tid}/wchan`, 'utf8'); } catch {}
      threads.push(`${tid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]} ${wchan}`);
    }
  } catch {}
  child.kill('SIGKILL');
  await done;
  throw new Error(`${what}: loopperf ${child.pid} had not ended after ${timeoutMs} ms (threads: ${threads.join(', ') || 'none'})`);
}

// Readiness of a recording: loopperf (pid lpPid) holds at least `min` perf_event fds, i.e. it is
// sampling. Returns how many.
function waitForSampling(lpPid, min = 1) {
  return until(() => {
    const n = fdTargets(lpPid).filter((t) => t === 'anon_inode:[perf_event]').length;
    return n >= min ? n : 0;
  }, `loopperf ${lpPid} to open ${min} perf_event fds`);
}

// Waits until `record -p` of a node target samples: in attach mode the cpu-clock events are opened
// first and enabled once loopperf has set itself up, the last step being the poll tracepoints (four
// more perf_event fds per thread). For windows that must line up with loopperf's own.
function waitForRecording(lpPid, targetPid) {
  let threads = 1;
  try { threads = fs.readdirSync(`/proc/${targetPid}/task`).length; } catch {}
  // One thread may come or go meanwhile: a thread's worth of slack.
  return waitForSampling(lpPid, 5 * threads - 5 + 1);
}

// Waits until thread `tid` of `pid` has used `seconds` more CPU than it had when called: the target
// has been running (and so sampled) for that much, however loaded the machine is.
function waitForCpu(pid, seconds, tid = pid) {
  const start = cpuSeconds(pid, tid);
  return until(() => cpuSeconds(pid, tid) - start >= seconds, `${seconds} s of CPU in ${pid}/${tid}`, 60000);
}

// Spins (synchronously: a ptrace stop lasts ~1 ms, a timer tick would miss it) until one of pid's
// threads is in state 't' (ptrace stop) or timeoutMs passes. Returns the tid or 0.
function waitForTracedStop(pid, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (let i = 0; Date.now() < deadline; i++) {
    if (i % 1000 === 999) { try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return 0; } }
    for (const tid of tasks) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        if (stat[stat.lastIndexOf(')') + 2] === 't') return Number(tid);
      } catch {}
    }
  }
  return 0;
}

// Waits until process pid holds `file` open (an fd) or mapped (/proc/PID/maps): e.g. loopperf
// reading a perf map or an ELF file.
function waitForOpen(pid, file, timeoutMs = 15000) {
  return until(() => {
    if (fdTargets(pid).includes(file)) return true;
    try { return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').some((l) => l.endsWith(` ${file}`)); } catch { return false; }
  }, `${pid} to open ${file}`, timeoutMs);
}

// Share of the samples with at least one frame in a mapping whose file name matches `re` (from
// pprof -raw: samples -> locations -> mappings). Names a binary by its mapping, not by a substring
// of a function name.
function mappingShare(file, re) {
  const raw = pprof(['-raw', file]);
  const mappings = new Map();
  const mapsText = raw.slice(raw.indexOf('\nMappings'));
  for (const m of mapsText.matchAll(/^\s*(\d+): 0x[0-9a-f]+\/0x[0-9a-f]+\/0x[0-9a-f]+ (\S+)/gm)) mappings.set(m[1], m[2]);
  const locText = raw.slice(raw.indexOf('\nLocations'), raw.indexOf('\nMappings'));
  const inMapping = new Set();
  for (const m of locText.matchAll(/^\s*(\d+): 0x[0-9a-f]+ M=(\d+)/gm)) if (re.test(mappings.get(m[2]) || '')) inMapping.add(m[1]);
  let total = 0, hit = 0;
  const samples = raw.slice(raw.indexOf('Samples:'), raw.indexOf('\nLocations'));
  for (const line of samples.split('\n')) {
    const m = line.match(/^\s*(\d+)(?:\s+-?\d+)*: ((?:\d+ ?)+)/);
    if (!m) continue;
    total += Number(m[1]);
    if (m[2].trim().split(/\s+/).some((id) => inMapping.has(id))) hit += Number(m[1]);
  }
  return total ? hit / total : 0;
}

// The node lines the tests run on (20, 22, 24, 26): scripts/test-nodes.sh holds the list and where
// each one is (the cache of scripts/install-test-nodes.sh, under LOOPPERF_NODE_CACHE or
// XDG_CACHE_HOME, else the system node when it is of that line).
const TEST_NODES = path.resolve(__dirname, '../../scripts/test-nodes.sh');
let testNodes = null;
function testNodesScript(option) {
  const r = spawnSync('bash', [TEST_NODES, option], { encoding: 'utf8', timeout: 30000 });
  if (r.error || r.status !== 0) throw new Error(`${TEST_NODES} ${option} failed: ${r.error || r.stderr}`);
  return r.stdout;
}

// { 20: path, 22: path, 24: path, 26: path }, null for a line that is not installed.
function nodeBinaries() {
  if (!testNodes) {
    testNodes = {};
    for (const m of testNodesScript('--all').matchAll(/^(\d+) (.+)$/gm)) testNodes[m[1]] = m[2] === '-' ? null : m[2];
    if (!Object.keys(testNodes).length) throw new Error(`${TEST_NODES} --all listed no node line`);
  }
  return { ...testNodes };
}

function supportedNodeMajors() {
  return Object.keys(nodeBinaries()).map(Number);
}

// A missing line fails its tests when LOOPPERF_REQUIRE_NODES=1 (scripts/test.sh sets it, after
// installing them) or, when that is unset, under CI; elsewhere they are skipped, with the fix.
function nodesRequired() {
  const flag = process.env.LOOPPERF_REQUIRE_NODES;
  if (flag !== undefined && flag !== '') return flag === '1';
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

function missingNodeReason(major) {
  if (!(major in nodeBinaries())) return `node ${major} is not a supported line (${TEST_NODES} lists them)`;
  return `node ${major} is not installed: run scripts/install-test-nodes.sh ` +
    `(it installs into ${testNodesScript('--cache').trim()})`;
}

// The path of node <major>; throws, naming scripts/install-test-nodes.sh, when it is not installed.
function nodeBinary(major) {
  const bin = nodeBinaries()[major];
  if (!bin) throw new Error(missingNodeReason(major));
  return bin;
}

// For a test's options, { skip: nodeSkip(22) }: the reason when node <major> is missing and may be
// skipped; otherwise false (the test runs, and nodeBinary() fails it when the line is missing).
function nodeSkip(major) {
  return !nodeBinaries()[major] && !nodesRequired() ? missingNodeReason(major) : false;
}

// Whether loop health can be measured here (environment, not loopperf's say): it needs the
// syscalls tracepoints, through a mounted tracefs or as root (loopperf mounts it).
function loopHealthAvailable() {
  return process.getuid() === 0 || fs.existsSync('/sys/kernel/tracing/events/syscalls') ||
    fs.existsSync('/sys/kernel/debug/tracing/events/syscalls');
}

// A load generator in this process: keep-alive GET requests to 127.0.0.1:port, `connections` in
// flight, until the returned function is called (and never longer than `maxMs`).
function httpLoad(port, { urlPath = '/', connections = 3, maxMs = 20000 } = {}) {
  const http = require('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const deadline = Date.now() + maxMs;
  let stopped = false;
  const one = () => {
    if (stopped || Date.now() > deadline) return;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      res.resume();
      res.on('end', one);
    });
    req.on('error', () => {});
  };
  for (let i = 0; i < connections; i++) one();
  return () => {
    stopped = true;
    agent.destroy();
  };
}

module.exports = {
  LOOPPERF, PPROF, TARGETS, tmpdir, waitForFile, waitForFileAsync, startTarget, stopTarget,
  loopperf, loopperfAsync, pprof, traces, tagShares, share, isAlive, procState, tracerPid,
  cpuSeconds, processCpuSeconds, fdTargets, until, settled, cpuBurner, waitForSampling, waitForRecording, waitForCpu, waitForTracedStop, waitForOpen, loopHealthAvailable, mappingShare,
  nodeBinaries, nodeBinary, nodeSkip, nodesRequired, supportedNodeMajors, httpLoad,
};
