// Documented options and exit statuses that had no test (issue 21, item 7): report --top, diff's
// exit statuses 4 and 5, convert's exit 5 and its "N of M" summary, record --no-kernel,
// --no-loop-health, --stall-threshold, --no-perf-map / --keep-perf-map, dump's exit 4 and its text.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const isRoot = process.getuid() === 0;
const NOBODY = 65534;
const dir = lp.tmpdir('options');
fs.chmodSync(dir, 0o755);  // the unprivileged runs below reach files in here
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// A short launch-mode recording of hot.js (JS names through the perf map), made once per name.
const made = {};
function hotProfile(name = 'hot', args = []) {
  if (!made[name]) {
    const out = path.join(dir, `${name}.pb.gz`);
    const r = lp.loopperf(['record', '-q', ...args, '-o', out, '--', process.execPath, path.join(lp.TARGETS, 'hot.js')],
      { env: { ...process.env, DURATION_MS: '600' }, cwd: dir });
    assert.strictEqual(r.status, 0, r.stderr);
    made[name] = out;
  }
  return made[name];
}

test('report --top N lists at most N blockers (default 10), the same first ones', () => {
  const p = hotProfile();
  const all = JSON.parse(lp.loopperf(['report', p, '--format', 'json']).stdout).blockers;
  assert.ok(all.length >= 2 && all.length <= 10, `default: ${all.length} blockers`);
  for (const n of [1, 2]) {
    const r = lp.loopperf(['report', p, '--format', 'json', '--top', String(n)]);
    assert.strictEqual(r.status, 0, r.stderr);
    const top = JSON.parse(r.stdout).blockers;
    assert.strictEqual(top.length, n);
    assert.deepStrictEqual(top.map((b) => b.summary), all.slice(0, n).map((b) => b.summary));
  }
  // Text: the "Top blockers" section, up to its first blank line, has N share lines.
  for (const n of [1, 2]) {
    const text = lp.loopperf(['report', p, '--top', String(n)]).stdout;
    const section = text.slice(text.indexOf('Top blockers')).split('\n\n')[0];
    const lines = section.split('\n').filter((l) => /^\s+\d+\.\d%\s/.test(l));
    assert.strictEqual(lines.length, n, section);
  }
});

test('diff exit statuses: 5 for an -o that cannot be written, 6 for an input it may not read (an unreadable input, as README says)', () => {
  const p = hotProfile();
  const q = hotProfile('hot2');
  const r5 = lp.loopperf(['diff', p, q, '-o', '/nonexistent-dir/d.pb.gz']);
  assert.strictEqual(r5.status, 5, r5.stderr);
  assert.match(r5.stderr, /error: /);
  const secret = path.join(dir, 'secret.pb.gz');
  fs.copyFileSync(p, secret);
  fs.chmodSync(secret, 0o600);
  // Root reads any file: the unreadable case is run as nobody (a file of root's, 0600).
  const as = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
  if (!isRoot) fs.chmodSync(secret, 0o000);
  const r6 = lp.loopperf(['diff', secret, q], as);
  assert.strictEqual(r6.status, 6, r6.stderr);
  assert.match(r6.stderr, /error: .*(ermission|denied)/);
  assert.match(r6.stderr, /hint: loopperf runs as uid \d+/);
});

test('convert: exit 5 for an -o that cannot be written; a filtered diff profile says "N of M" per side', () => {
  const p = hotProfile();
  const q = hotProfile('hot2');
  const r5 = lp.loopperf(['convert', p, '-o', '/nonexistent-dir/x.html']);
  assert.strictEqual(r5.status, 5, r5.stderr);
  const d = path.join(dir, 'd.pb.gz');
  assert.strictEqual(lp.loopperf(['diff', p, q, '-o', d]).status, 0);
  const whole = lp.loopperf(['convert', d, '-o', path.join(dir, 'd.html')]);
  assert.strictEqual(whole.status, 0, whole.stderr);
  const m = whole.stderr.match(/diff profile: base (\d+) samples, head (\d+) samples -> /);
  assert.ok(m, whole.stderr);
  const filtered = lp.loopperf(['convert', d, '--focus', 'hotFunction', '-o', path.join(dir, 'f.pb.gz')]);
  assert.strictEqual(filtered.status, 0, filtered.stderr);
  const f = filtered.stderr.match(/diff profile: base (\d+) of (\d+) samples, head (\d+) of (\d+) samples -> /);
  assert.ok(f, filtered.stderr);
  assert.strictEqual(f[2], m[1]);
  assert.strictEqual(f[4], m[2]);
  assert.ok(Number(f[1]) > 0 && Number(f[1]) < Number(f[2]), `base ${f[1]} of ${f[2]}`);
  assert.ok(Number(f[3]) > 0 && Number(f[3]) < Number(f[4]), `head ${f[3]} of ${f[4]}`);
  // Still a diff profile: both sides kept, the base side labelled (docs/diff.md).
  const raw = lp.pprof(['-raw', path.join(dir, 'f.pb.gz')]);
  assert.match(raw, /pprof::base/);
  assert.ok(lp.pprof(['-top', '-sample_index=samples', path.join(dir, 'f.pb.gz')]).includes('hotFunction'));
});

test('record --no-perf-map: no map is made (the heap still names JS frames; with --js-names map they stay unnamed); --keep-perf-map keeps the map it made', () => {
  const plain = hotProfile('nomap', ['--no-perf-map', '--js-names', 'map']);
  const pid = Number(lp.pprof(['-raw', plain]).match(/loopperf:target\.pid=(\d+)/)[1]);
  assert.ok(!fs.existsSync(`/tmp/perf-${pid}.map`), 'no perf map');
  const tr = lp.traces(plain);
  assert.ok(!tr.some((t) => t.frames.includes('hotFunction')), 'hotFunction is not named without the map');
  assert.ok(lp.share(tr, (t) => t.frames.includes('[unknown] [jit]')) > 0.5, 'unnamed JIT frames');
  const heap = hotProfile('nomap-heap', ['--no-perf-map']);
  const hpid = Number(lp.pprof(['-raw', heap]).match(/loopperf:target\.pid=(\d+)/)[1]);
  assert.ok(!fs.existsSync(`/tmp/perf-${hpid}.map`), 'no perf map');
  assert.ok(lp.traces(heap).some((t) => t.frames.includes('hotFunction')), 'hotFunction named from the heap');

  const kept = hotProfile('keepmap', ['--keep-perf-map']);
  const kpid = Number(lp.pprof(['-raw', kept]).match(/loopperf:target\.pid=(\d+)/)[1]);
  const map = `/tmp/perf-${kpid}.map`;
  try {
    assert.ok(fs.existsSync(map), `${map} kept`);
    assert.match(fs.readFileSync(map, 'utf8'), / JS:\S*hotFunction /);
    assert.ok(lp.traces(kept).some((t) => t.frames.includes('hotFunction')));
  } finally {
    fs.rmSync(map, { force: true });
  }
});

// A target busy with a 5 ms callback every 10 ms: busy periods of ~5 ms.
async function recordElu(mode, args) {
  const files = { START_FILE: path.join(dir, `start-${mode}`), STOP_FILE: path.join(dir, `stop-${mode}`), RESULT_FILE: path.join(dir, `result-${mode}`) };
  const t = await lp.startTarget('elu.js', { args: [mode], env: files });
  const out = path.join(dir, `elu-${mode}-${args.join('').replace(/\W/g, '')}.pb.gz`);
  try {
    const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '1s', '-o', out, ...args]);
    assert.strictEqual(r.status, 0, r.stderr);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    return { main: rep.threads.find((th) => th.tid === t.pid), raw: lp.pprof(['-raw', out]) };
  } finally {
    lp.stopTarget(t);
  }
}

test('record --stall-threshold: busy periods longer than it are listed as stalls, never one under the threshold', async () => {
  const low = await recordElu('half', ['--stall-threshold', '3ms']);
  assert.ok(low.main && low.main.loop, 'loop health');
  assert.ok(low.main.loop.stalls.length >= 1, `stalls over 3 ms: ${low.main.loop.stalls.length}`);
  for (const s of low.main.loop.stalls) assert.ok(s.duration_ms >= 3, `stall ${s.duration_ms} ms under the threshold`);
  assert.match(low.raw, /loopperf:loop\.\d+\.stall_threshold_ms=3\b/);
  // At the default 50 ms, the ~5 ms busy periods are not stalls (a preemption on a loaded machine
  // may still make one longer: those are listed, never one under 50 ms).
  const dflt = await recordElu('half', []);
  assert.match(dflt.raw, /loopperf:loop\.\d+\.stall_threshold_ms=50\b/);
  assert.ok(dflt.main.loop.stalls.length < low.main.loop.stalls.length, 'fewer stalls at 50 ms than at 3 ms');
  for (const s of dflt.main.loop.stalls) assert.ok(s.duration_ms >= 50, `stall ${s.duration_ms} ms under 50 ms`);
});

test('record --no-loop-health: no utilization or stalls, samples still labelled', async () => {
  const { main, raw } = await recordElu('half', ['--no-loop-health']);
  assert.ok(main, 'the main thread is in the report');
  assert.ok(!main.loop, `no loop health: ${JSON.stringify(main.loop)}`);
  assert.doesNotMatch(raw, /loopperf:loop\.\d+\.utilization/);
  assert.ok(main.phases.timers > 0.5, `phases still labelled: ${JSON.stringify(main.phases)}`);
});

test('dump: one text line per thread with role, phase, activity and the system call; exit 4 when ptrace is not permitted', { skip: !isRoot && 'needs root to run dump as another user' }, async () => {
  const t = await lp.startTarget('idle.js');
  try {
    const json = JSON.parse(lp.loopperf(['dump', '-p', String(t.pid), '--json']).stdout);
    const text = lp.loopperf(['dump', '-p', String(t.pid)]);
    assert.strictEqual(text.status, 0, text.stderr);
    const heads = text.stdout.split('\n').filter((l) => /^thread \d+ /.test(l));
    // Threads may come and go between the two dumps: the main thread and most of the others agree.
    assert.ok(Math.abs(heads.length - json.threads.length) <= 2, `${heads.length} text lines, ${json.threads.length} threads in JSON`);
    assert.ok(heads.length >= 5, text.stdout);
    const main = heads.find((l) => l.startsWith(`thread ${t.pid} `));
    assert.match(main, new RegExp(`^thread ${t.pid} node\\s+main-loop\\s+phase=poll\\s+activity=idle-wait\\s+in epoll_p?wait\\(\\)`));
    for (const l of heads) assert.match(l, /^thread \d+ \S.*\s(main-loop|worker-loop|\S+)\s+phase=\S+\s+activity=\S+/);
    assert.match(text.stdout, /the target was stopped one thread at a time: at most \d+ µs per thread, \d+ µs in total/);

    // Root's process, dumped by nobody: ptrace is not permitted.
    const denied = lp.loopperf(['dump', '-p', String(t.pid)], { uid: NOBODY, gid: NOBODY });
    assert.strictEqual(denied.status, 4, denied.stderr);
    // Ownership is the cause, and the hint says so (not the Yama sysctl, which may not exist).
    assert.match(denied.stderr, new RegExp(`process ${t.pid} belongs to uid 0 and loopperf runs as uid ${NOBODY}`));
    assert.doesNotMatch(denied.stderr, /ptrace_scope is \?/);
    assert.strictEqual(lp.tracerPid(t.pid), 0);
  } finally {
    lp.stopTarget(t);
  }
});

test('record --no-kernel: no kernel frames and kernel_frames=no; by default they are there', async () => {
  // A loop of 1 MB readFileSync calls spends much of its time in the kernel (read copies): kernel
  // frames are certain by default. A pure JS spin (hot.js) is sampled in user mode and may have none.
  const t = await lp.startTarget('phase_sync_fs.js');
  try {
    const run = async (args) => {
      const out = path.join(dir, `kernel${args.length}.pb.gz`);
      const r = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '1s', '-o', out, ...args]);
      assert.strictEqual(r.status, 0, r.stderr);
      return { out, raw: lp.pprof(['-raw', out]) };
    };
    const withKernel = await run([]);
    assert.match(withKernel.raw, /loopperf:kernel_frames=yes/);
    assert.ok(lp.mappingShare(withKernel.out, /^\[kernel/) > 0.05, 'kernel frames by default (read syscalls)');
    const userOnly = await run(['--no-kernel']);
    assert.match(userOnly.raw, /loopperf:kernel_frames=no/);
    assert.strictEqual(lp.mappingShare(userOnly.out, /^\[kernel/), 0, 'no kernel frame with --no-kernel');
  } finally {
    lp.stopTarget(t);
  }
});

// The fallback needs a user the kernel refuses kernel callchains: nobody, at perf_event_paranoid >= 2
// (environment), recording its own node.
const paranoid = Number(fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'));
test('record as an unprivileged user at perf_event_paranoid >= 2: falls back to user frames with a warning',
  { skip: (!isRoot && 'needs root to run as nobody') || (paranoid < 2 && `perf_event_paranoid is ${paranoid}: kernel frames are allowed`) }, async () => {
    const { spawn } = require('node:child_process');
    const own = path.join(dir, 'nobody');
    fs.mkdirSync(own);
    fs.chmodSync(own, 0o777);
    const ready = path.join(own, 'ready');
    const target = spawn(process.execPath, [path.join(lp.TARGETS, 'hot.js')],
      { uid: NOBODY, gid: NOBODY, cwd: own, env: { ...process.env, READY_FILE: ready, DURATION_MS: '30000' }, stdio: 'ignore' });
    try {
      await lp.waitForFileAsync(ready);
      const out = path.join(own, 'p.pb.gz');
      const r = await lp.loopperfAsync(['record', '-p', String(target.pid), '-d', '1s', '-o', out], { uid: NOBODY, gid: NOBODY });
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /kernel frames are not allowed at this kernel\.perf_event_paranoid; recording user frames only/);
      assert.strictEqual(lp.mappingShare(out, /^\[kernel/), 0, 'no kernel frame');
      assert.ok(lp.traces(out).length > 0, 'user frames recorded');
      assert.match(lp.pprof(['-raw', out]), /loopperf:kernel_frames=no/, 'the file says what was recorded');
      // tracefs readable only by root (environment): loop health is skipped with a warning, not an error.
      const idFile = '/sys/kernel/tracing/events/syscalls/sys_enter_epoll_pwait/id';
      let othersRead = false;
      try { othersRead = (fs.statSync(idFile).mode & 0o004) !== 0; } catch {}
      if (!othersRead) assert.match(r.stderr, /warning: loop health \(utilization, stalls\) is not measured/);
    } finally {
      target.kill('SIGKILL');
      fs.rmSync(`/tmp/perf-${target.pid}.map`, { force: true });
    }
  });

test('wall mode: a loop waiting in Atomics.wait inside a timer is "blocked" in phase timers; wall.dropped is recorded', () => {
  const script = path.join(dir, 'atomics_wait.js');
  fs.writeFileSync(script, [
    'const cell = new Int32Array(new SharedArrayBuffer(4));',
    'setInterval(function waitInTimer() { Atomics.wait(cell, 0, 0, 50); }, 1);',
    'setTimeout(() => process.exit(0), 1500);',
  ].join('\n'));
  const out = path.join(dir, 'blocked.pb.gz');
  const r = lp.loopperf(['record', '-q', '--mode', 'wall', '-o', out, '--', process.execPath, script], { cwd: dir });
  assert.strictEqual(r.status, 0, r.stderr);
  const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
  const main = rep.threads.find((th) => th.role === 'main-loop');
  // Measured: blocked 0.84 of the main thread's wall samples (the rest is node's start-up).
  assert.ok(main.activities.blocked > 0.6, `activities ${JSON.stringify(main.activities)}`);
  assert.ok(main.phases.timers > 0.6, `phases ${JSON.stringify(main.phases)}`);
  assert.match(lp.pprof(['-raw', out]), /loopperf:wall\.dropped=\d+/);
});
