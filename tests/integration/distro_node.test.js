// A distribution's node (docs/troubleshooting.md, "A distribution's node"): Debian 12's nodejs,
// which runs node as a shared library (libnode.so.108) with the system's libuv.so.1, both stripped of
// local symbols and built without frame pointers. Installed by scripts/install-distro-node.sh into
// the test cache and run in a private mount namespace whose /usr/share also shows the extracted
// packages (node loads part of its own JavaScript from /usr/share/nodejs). Attached by pid with no
// flag, then started with --perf-basic-prof: stacks complete through libnode and libuv, phases from
// node's callbacks and the uv_run call sites they identify, the one line that says what is
// degraded, JavaScript names from the perf map (V8 10.2 is older than heap names support).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const lp = require('./lib');

const INSTALL = path.resolve(__dirname, '../../scripts/install-distro-node.sh');
const root = spawnSync('bash', [INSTALL, '--root'], { encoding: 'utf8' }).stdout.trim();
const installed = root !== '' && fs.existsSync(path.join(root, 'usr/bin/node'));
const isDebian12 = /^VERSION_CODENAME=bookworm$/m.test(fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '');
const canUnshare = process.getuid() === 0 && spawnSync('unshare', ['--help']).status === 0;
// On Debian 12 (where scripts/test.sh installs it) a missing install fails the test; elsewhere the
// package does not exist and the test says so.
const skip = !canUnshare ? 'needs root and unshare(1) (a private mount namespace for /usr/share/nodejs)'
  : !isDebian12 && !installed ? "not a Debian 12 machine: Debian 12's nodejs cannot be installed here"
    : false;

// Timers, immediates and an HTTP round trip on localhost: the timers, check and poll phases.
const APP = `
const http = require('http');
function timerWork(n) { let h = 0; for (let i = 0; i < n; i++) h = (h * 31 + i) | 0; return h; }
function immediateWork(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i); return s; }
function handleRequest(req, res) { res.end(String(timerWork(3e5))); }
const server = http.createServer(handleRequest);
const spent = { timer: 0, immediate: 0 };
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  setInterval(() => { const t0 = process.hrtime.bigint(); timerWork(2e6); spent.timer += Number(process.hrtime.bigint() - t0); }, 20);
  setImmediate(function again() {
    const t0 = process.hrtime.bigint();
    immediateWork(2e5);
    spent.immediate += Number(process.hrtime.bigint() - t0);
    setTimeout(() => setImmediate(again), 10);
  });
  // What the two callbacks took, for the test to compare with the phases (written every 50 ms).
  setInterval(() => {
    require('fs').writeFileSync(process.env.SPENT_FILE + '.tmp', JSON.stringify(spent));
    require('fs').renameSync(process.env.SPENT_FILE + '.tmp', process.env.SPENT_FILE);
  }, 50);
  (function get() { http.get({ host: '127.0.0.1', port, agent: false }, (r) => { r.resume(); r.on('end', () => setTimeout(get, 2)); }); })();
  require('fs').writeFileSync(process.env.READY_FILE, String(process.pid));
});
`;

// Debian's node in a mount namespace of its own whose /usr/share is the host's with the extracted
// packages' /usr/share over it (a read-only overlay), and libnode from the extracted root.
async function startDebianNode(dir, nodeArgs = []) {
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, APP);
  const ready = path.join(dir, `ready-${nodeArgs.length}`);
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
    'mount -t overlay overlay -o "lowerdir=$ROOT/usr/share:/usr/share" /usr/share && ' +
    'LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu" exec "$ROOT/usr/bin/node" "$@"', 'sh', ...nodeArgs, app],
  { cwd: dir, env: { ...process.env, ROOT: root, READY_FILE: ready, SPENT_FILE: path.join(dir, 'spent.json') }, stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
  await lp.waitForFileAsync(ready, 20000);
  const pid = Number(fs.readFileSync(ready, 'utf8'));
  assert.ok(fs.readlinkSync(`/proc/${pid}/exe`).startsWith(root), 'the target is Debian\'s node');
  return { child, pid };
}

function mainLoop(report) {
  return report.threads.find((t) => t.role === 'main-loop');
}

test("Debian 12's node attached with no flag: complete stacks, phases from callbacks, the degraded line", { skip }, async () => {
  assert.ok(installed, `Debian's node is not installed: run ${INSTALL}`);
  const dir = fs.mkdtempSync('/var/tmp/lp-distro-');
  let t;
  try {
    t = await startDebianNode(dir);
    const maps = fs.readFileSync(`/proc/${t.pid}/maps`, 'utf8');
    assert.match(maps, /libnode\.so\.108/);
    assert.match(maps, /\/libuv\.so\.1/);
    const out = path.join(dir, 'debian.pb.gz');
    const spentFile = path.join(dir, 'spent.json');
    await lp.waitForFileAsync(spentFile);
    const before = JSON.parse(fs.readFileSync(spentFile, 'utf8'));
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    const after = JSON.parse(fs.readFileSync(spentFile, 'utf8'));
    // One line says what a distribution's node costs, and where to read more.
    assert.match(r.stderr, /warning: node runs as a shared library here \(.*libnode\.so\.108\): JavaScript frames are named from V8's perf map only; loop phases come from node's callbacks \(\d+ of \d+ event-loop samples stay unknown\); stacks are walked with CFI/);
    assert.match(r.stderr, /hint: docs\/troubleshooting\.md, "A distribution's node"/);
    // Heap names need V8 11 or later (node 20+): said, not attempted.
    assert.match(r.stderr, /libnode\.so\.108: V8 10\.2\.[\d.]+ is not a supported version/);
    const raw = lp.pprof(['-raw', out]);
    assert.match(raw, /loopperf:target\.node=yes/);
    // Every stack walked to its end through libnode and libuv (no frame pointers in either): the
    // frame-pointer chain is cut there and walked again with CFI. Measured: 99-100% complete.
    const ends = Object.fromEntries([...raw.matchAll(/loopperf:unwind\.end\.([\w+-]+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    const samples = Number(raw.match(/loopperf:samples=(\d+)/)[1]);
    assert.ok((ends.complete || 0) > 0.9 * samples, `unwind ends ${JSON.stringify(ends)} of ${samples} samples`);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = mainLoop(rep);
    assert.ok(main, JSON.stringify(rep.threads.map((th) => th.role)));
    // Phases as the program runs them; measured unknown 2.6-3.0% (2 runs), timers 31%, poll 52%, check 13%
    // on a quiet machine. Under CI's load the program itself shifts (check fell to 2.8% in 2 of 3 runs
    // of 2026-12-05 with a fixed 3% bound): the check phase is held to what the program measured its
    // immediate and its timer took over the same window, their ratio within a factor of 3.
    assert.ok(main.phases.timers > 0.1, `phases ${JSON.stringify(main.phases)}`);
    assert.ok(main.phases.poll > 0.1, `phases ${JSON.stringify(main.phases)}`);
    const ownRatio = (after.immediate - before.immediate) / (after.timer - before.timer);
    const seenRatio = main.phases.check / main.phases.timers;
    assert.ok(main.phases.check > 0 && seenRatio > ownRatio / 3 && seenRatio < ownRatio * 3,
      `check/timers ${seenRatio.toFixed(3)} in the profile, ${ownRatio.toFixed(3)} by the program's own clock; phases ${JSON.stringify(main.phases)}`);
    assert.ok((main.phases.unknown || 0) < 0.1, `phases ${JSON.stringify(main.phases)}`);
    // Loop health from the poll-wait tracepoints, as for any node.
    assert.ok(main.loop && main.loop.utilization > 0.05, JSON.stringify(main.loop));
    // dump of the running process: a stack from its JavaScript down to node::Start through uv_run.
    const d = lp.loopperf(['dump', '-p', String(t.pid)]);
    assert.strictEqual(d.status, 0, d.stderr);
    const thread = d.stdout.slice(d.stdout.indexOf(`thread ${t.pid} `));
    const stack = thread.slice(0, thread.indexOf('\n\n') > 0 ? thread.indexOf('\n\n') : undefined);
    assert.match(stack, /\buv_run\b[\s\S]*node::Start/, stack);
  } finally {
    if (t) t.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Debian 12's node started with --perf-basic-prof: JavaScript frames named from its perf map", { skip }, async () => {
  assert.ok(installed, `Debian's node is not installed: run ${INSTALL}`);
  const dir = fs.mkdtempSync('/var/tmp/lp-distro-');
  let t;
  try {
    t = await startDebianNode(dir, ['--perf-basic-prof']);
    const out = path.join(dir, 'named.pb.gz');
    const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(r.status, 0, r.stderr);
    const top = lp.pprof(['-top', '-sample_index=samples', out]);
    for (const fn of ['timerWork', 'immediateWork']) assert.match(top, new RegExp(`\\b${fn}\\b`), top);
    // V8 10 tags its perf map entries by how the code was compiled ("LazyCompile:*timerWork app.js:3"):
    // cleaned like node 20's "JS:*timerWork app.js:3:20", and counted as JavaScript.
    assert.doesNotMatch(top, /\s(LazyCompile|Function|Script):[~^+*]?\S/, top);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    const main = mainLoop(rep);
    // A named frame under its phase: timerWork in timers.
    const timers = lp.traces(out).filter((x) => x.labels.phase === 'timers' && x.frames.some((f) => /^timerWork\b/.test(f)));
    assert.ok(timers.length > 0, 'timerWork samples in phase timers');
    assert.ok((main.phases.unknown || 0) < 0.1, `phases ${JSON.stringify(main.phases)}`);
    assert.ok(main.activities.js > 0.5, `activities ${JSON.stringify(main.activities)}`);
  } finally {
    if (t) t.child.kill('SIGKILL');
    try { fs.rmSync(`/tmp/perf-${t && t.pid}.map`, { force: true }); } catch {}
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
