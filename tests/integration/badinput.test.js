// Bad input gets a clear error, never a crash. Every input loopperf parses is fed something broken:
// the perf map of a live target (garbage, truncated, replaced, a FIFO, made writable or given away
// while loopperf reads it), ELF files changed on disk under a running target, /proc files changing
// underneath, pprof files for report/convert/diff (not gzip, truncated, garbage, wrong schema, ids
// that point nowhere, a gzip bomb, a huge sparse file) and command-line values. Each case gives its
// message and exit status, never a signal (status >= 128) and never 70 (an internal error). Every
// fixture is made here, in temporary directories (docs/hardening.md).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawn, spawnSync } = require('node:child_process');
const lp = require('./lib');

const EXIT = { ok: 0, usage: 2, noProcess: 3, permission: 4, output: 5, input: 6, resource: 7 };
const isRoot = process.getuid() === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.setMaxListeners(100);  // every target started here adds an exit listener (lib.startTarget)

// The contract for every run: the expected status, no signal, no internal error, no sanitizer report.
function assertStatus(r, expected, what) {
  const tail = `${what}: status ${r.status} signal ${r.signal}\n${r.stderr}`;
  assert.strictEqual(r.signal, null, `killed by a signal: ${tail}`);
  assert.ok(r.status !== null && r.status < 128, `crashed: ${tail}`);
  assert.notStrictEqual(r.status, 70, `internal error: ${tail}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error:|terminate called|Assertion .* failed/, tail);
  assert.strictEqual(r.status, expected, tail);
  if (expected !== 0) assert.match(r.stderr, /error: /, tail);
}

function assertUnharmed(pid) {
  assert.ok(lp.isAlive(pid), 'target alive');
  assert.ok(['R', 'S'].includes(lp.procState(pid)), `target state ${lp.procState(pid)}`);
  assert.strictEqual(lp.tracerPid(pid), 0, 'target not traced');
}

// ---------------------------------------------------------------------------------------------
// pprof inputs to report, convert and diff

// Minimal protobuf encoding, enough to build profiles that are well-formed on the wire but wrong.
function varint(n) {
  let v = BigInt(n);
  const out = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const num = (field, v) => Buffer.concat([varint((field << 3) | 0), varint(v)]);
const bytes = (field, buf) => Buffer.concat([varint((field << 3) | 2), varint(buf.length), Buffer.from(buf)]);
const msg = (...parts) => Buffer.concat(parts);
// perftools.profiles.Profile field numbers (profile.proto).
const P = { sampleType: 1, sample: 2, mapping: 3, location: 4, function: 5, string: 6, period: 12 };
const strings = (...s) => msg(...['', ...s].map((x) => bytes(P.string, x)));
const sampleType = (type, unit) => bytes(P.sampleType, msg(num(1, type), num(2, unit)));

let goodProfile;  // a real recording, made once
function good(dir) {
  if (!goodProfile) {
    goodProfile = path.join(dir, 'good.pb.gz');
    const r = lp.loopperf(['record', '-q', '-o', goodProfile, '--', process.execPath, path.join(lp.TARGETS, 'hot.js')],
      { env: { ...process.env, DURATION_MS: '400' } });
    assertStatus(r, EXIT.ok, 'recording the good profile');
  }
  return goodProfile;
}

// name -> [bytes or a function writing the file, expected message]
function badProfiles(dir) {
  const real = fs.readFileSync(good(dir));
  const realPlain = zlib.gunzipSync(real);
  // 64 MiB of zeros deflate to ~64 KiB; gzip members may be concatenated, so 17 of them inflate to
  // 1.06 GiB: past the 1 GiB cap, built in milliseconds.
  const member = zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
  return {
    'not gzip': [Buffer.from('this is a README, not a profile\n'.repeat(20)), /not a protobuf message|not a valid/],
    'empty file': [Buffer.alloc(0), /empty/],
    'truncated gzip': [real.subarray(0, Math.floor(real.length / 2)), /truncated gzip|stream ends early/],
    'gzip header only': [real.subarray(0, 10), /truncated gzip|stream ends early/],
    'corrupt gzip': [Buffer.concat([real.subarray(0, 20), crypto.randomBytes(200)]), /corrupt gzip|gzip/],
    'valid gzip of garbage': [zlib.gzipSync(crypto.randomBytes(4096)), /not a protobuf message|not a valid|string_table/],
    // A string field that announces 100 bytes and has 5.
    'truncated protobuf': [zlib.gzipSync(Buffer.concat([realPlain, varint((P.string << 3) | 2), varint(100), Buffer.from('short')])),
      /truncated or garbled/],
    'trailing garbage after gzip': [Buffer.concat([real, Buffer.from('garbage')]), /after the end of the gzip stream/],
    'gzip bomb': [Buffer.concat(Array(17).fill(member)), /too large/],
    'wrong schema (no string table)': [msg(num(9, 12345), num(10, 99)), /string_table\[0\] must be the empty string/],
    // The parser keeps a field of the wrong wire type as an unknown field: no string table then.
    'wrong wire type': [msg(num(P.string, 5)), /string_table\[0\] must be the empty string|not a valid/],
    'location id that points nowhere': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.sample, msg(num(1, 99), num(2, 1)))), /location id 99, which does not exist/],
    'function id that points nowhere': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.location, msg(num(1, 1), bytes(4, msg(num(1, 7), num(2, 3))))),
      bytes(P.sample, msg(num(1, 1), num(2, 1)))), /function id 7, which does not exist/],
    'mapping id that points nowhere': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.location, msg(num(1, 1), num(2, 5))), bytes(P.sample, msg(num(1, 1), num(2, 1)))),
      /mapping id 5, which does not exist/],
    'string index out of range': [msg(strings('samples', 'count'), sampleType(40, 2)), /string index 40 is out of range/],
    'negative string index': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.sample, msg(num(2, 1), bytes(3, msg(num(1, 2n ** 64n - 1n), num(2, 1)))))), /string index -1/],
    'more values than sample types': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.sample, msg(num(2, 1), num(2, 2), num(2, 3)))), /3 values but the profile declares 1/],
    'duplicate ids': [msg(strings('samples', 'count'), sampleType(1, 2), bytes(P.location, num(1, 3)),
      bytes(P.location, num(1, 3))), /share the id 3/],
    // Totals of these would wrap: two samples of 2^62 + 1 each.
    'values that add up past 2^63': [msg(strings('samples', 'count'), sampleType(1, 2),
      bytes(P.sample, num(2, 2n ** 62n + 1n)), bytes(P.sample, num(2, 2n ** 62n + 1n))), /add up past 2\^63/],
    // A recording (its metadata says so, comment field 13) with a count of -1: not a diff.
    'a negative count in a recording': [msg(strings('samples', 'count', 'loopperf:samples=2'), sampleType(1, 2),
      num(13, 3), bytes(P.sample, num(2, 3)), bytes(P.sample, num(2, 2n ** 64n - 1n))),
      /negative value in a loopperf recording that is not a diff/],
    'absurd length': [msg(varint((P.string << 3) | 2), varint(2n ** 60n), Buffer.from('x')), /truncated or garbled/],
    // A 100 GiB sparse file costs no disk; reading or reserving it must not be attempted.
    'huge sparse file': [(file) => { fs.writeFileSync(file, real); fs.truncateSync(file, 100 * 2 ** 30); }, /too large/],
  };
}

test('bad pprof files: report, convert and diff say what is wrong (exit 6), never crash', () => {
  const dir = lp.tmpdir('badpprof');
  try {
    const goodFile = good(dir);
    for (const [name, [content, message]] of Object.entries(badProfiles(dir))) {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.pb.gz`);
      if (typeof content === 'function') content(file);
      else fs.writeFileSync(file, content);
      const out = path.join(dir, 'out.html');
      for (const args of [['report', file], ['report', '--format', 'json', file], ['convert', file, '-o', out],
        ['diff', file, goodFile], ['diff', goodFile, file]]) {
        const r = lp.loopperf(args);
        assertStatus(r, EXIT.input, `${name}: ${args[0]}`);
        assert.match(r.stderr, message, `${name}: ${args.join(' ')}`);
        assert.match(r.stderr, /hint: |check the path/, `${name}: a hint`);
      }
      assert.ok(!fs.existsSync(out), `${name}: convert wrote nothing`);
      fs.rmSync(file, { force: true });
    }
    // Not a file at all.
    for (const args of [['report', dir], ['report', path.join(dir, 'missing.pb.gz')], ['convert', '/dev/null', '-o', path.join(dir, 'x.html')]]) {
      const r = lp.loopperf(args);
      assertStatus(r, EXIT.input, args.join(' '));
    }
    // Well-formed, but one sample claims 10^12 counts: the writers that aggregate take it, the one
    // that lists every sample (.cpuprofile) refuses instead of filling memory.
    const huge = path.join(dir, 'huge-count.pb');
    fs.writeFileSync(huge, msg(strings('samples', 'count', 'f'), sampleType(1, 2),
      bytes(P.function, msg(num(1, 1), num(2, 3))), bytes(P.location, msg(num(1, 1), bytes(4, num(1, 1)))),
      bytes(P.sample, msg(num(1, 1), num(2, 10n ** 12n)))));
    assertStatus(lp.loopperf(['report', huge]), EXIT.ok, 'huge count: report');
    for (const ext of ['html', 'speedscope.json', 'folded', 'pb.gz']) {
      assertStatus(lp.loopperf(['convert', huge, '-o', path.join(dir, `huge.${ext}`)]), EXIT.ok, `huge count: ${ext}`);
    }
    const cpu = lp.loopperf(['convert', huge, '-o', path.join(dir, 'huge.cpuprofile')]);
    assertStatus(cpu, EXIT.input, 'huge count: .cpuprofile');
    assert.match(cpu.stderr, /lists each one/);
    // The real profile still works after all that (the cases above broke the files, not the reader).
    assertStatus(lp.loopperf(['report', goodFile]), EXIT.ok, 'the good profile');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Command-line values

test('bad command-line values are usage errors (exit 2) with a message', () => {
  const cases = [
    [['-p', 'abc'], /invalid pid 'abc'/], [['-p', ''], /pid|target/], [['-p', '0'], /invalid pid/],
    [['-p', '-1'], /pid|-1|argument/], [['-p', '4194305'], /invalid pid/], [['-p', '1x'], /invalid pid/],
    [['-p', '99999999999999999999999'], /invalid pid/], [['-p', ' 42'], /invalid pid/],
    [['-p', '1', '-F', '0'], /sampling rate/], [['-p', '1', '-F', '-5'], /sampling rate|-5|argument/],
    [['-p', '1', '-F', '100001'], /sampling rate/], [['-p', '1', '-F', '1e3'], /sampling rate/],
    [['-p', '1', '-F', '18446744073709551617'], /sampling rate/], [['-p', '1', '-F', '2.5'], /sampling rate/],
    [['-p', '1', '-d', '0'], /greater than zero/], [['-p', '1', '-d', '-1s'], /duration|-1s|argument/],
    [['-p', '1', '-d', '0.1ns'], /greater than zero/], [['-p', '1', '-d', '2562048h'], /too large/],
    [['-p', '1', '-d', '99999999999999999999999999h'], /too large/], [['-p', '1', '-d', '1e9s'], /unknown unit/],
    [['-p', '1', '-d', 'inf'], /must start with a number/], [['-p', '1', '-d', '1..5s'], /not a number/],
    [['-p', '1', '-d', '10 s'], /unknown unit/], [['-p', '1', '--stall-threshold', '0ms'], /greater than zero/],
    [['-p', '1', '--stack-size', '100'], /stack size/], [['-p', '1', '--stack-size', '4294967304'], /stack size/],
    [['-p', '1', '--mode', 'wall', '-F', '5000'], /at most -F 4999/],
  ];
  for (const [args, message] of cases) {
    const r = lp.loopperf(['record', ...args, '-o', '/tmp/lp-badinput-never.pb.gz']);
    assertStatus(r, EXIT.usage, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.ok(!fs.existsSync('/tmp/lp-badinput-never.pb.gz'));
});

test("loopperf refuses its own pid", () => {
  const dir = lp.tmpdir('self');
  try {
    // exec keeps the shell's pid, so $$ is loopperf's own pid by the time it parses -p.
    const r = spawnSync('sh', ['-c', 'exec "$0" record -p $$ -d 200ms -o "$1"', lp.LOOPPERF, path.join(dir, 'self.pb.gz')],
      { encoding: 'utf8', timeout: 30000 });
    assertStatus(r, EXIT.usage, 'own pid');
    assert.match(r.stderr, /refusing to profile loopperf itself/);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// PID 1 of this machine is not ours to sample; in a PID namespace of our own, PID 1 is a shell we
// started, and loopperf running beside it records "-p 1" like any process and leaves it as it was.
// The environment decides the skip, before the test: root, and a PID namespace unshare can make.
const pidNamespace = isRoot && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 30000 }).status === 0;
test('pid 1 is recorded like any process and left unharmed',
  { skip: (!isRoot && 'needs root for a PID namespace') || (!pidNamespace && 'unshare --pid --fork --mount-proc fails here') }, () => {
  const dir = lp.tmpdir('pid1');
  try {
    const out = path.join(dir, 'pid1.pb.gz');
    const script = [
      'sleep 30 & s=$!',
      // The shell (PID 1) keeps busy while it is sampled, then reports its own state.
      '( i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done ) &',
      '"$0" record -p 1 -d 200ms -o "$1"; echo "status=$?"',
      'grep -E "^(State|TracerPid):" /proc/1/status',
      'kill $s; wait; echo alive',
    ].join('\n');
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', script, lp.LOOPPERF, out],
      { encoding: 'utf8', timeout: 60000 });
    assert.match(r.stdout, /status=0/, r.stdout + r.stderr);
    assert.match(r.stdout, /State:\s+[RS]/, r.stdout);
    assert.match(r.stdout, /TracerPid:\s+0/, r.stdout);
    assert.match(r.stdout, /alive/, r.stdout);
    assertStatus(lp.loopperf(['report', out]), EXIT.ok, 'report of pid 1');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('-o into a directory that vanishes during the recording: the profile is saved elsewhere (exit 5)', async () => {
  const t = await lp.startTarget('hot.js');
  const dir = lp.tmpdir('vanish');
  const rescue = lp.tmpdir('rescue');
  try {
    const out = path.join(dir, 'p.pb.gz');
    let child;
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '1500ms', '-o', out],
      { env: { ...process.env, TMPDIR: rescue }, onSpawn: (c) => { child = c; } });
    await lp.waitForSampling(child.pid);  // past the preflight that checks the output directory
    await lp.waitForCpu(t.pid, 0.1);      // and sampled: there is a profile to rescue
    fs.rmSync(dir, { recursive: true, force: true });
    const r = await done;
    assertStatus(r, EXIT.output, 'vanished output directory');
    assert.match(r.stderr, /saved to .* instead/);
    const saved = fs.readdirSync(rescue).filter((f) => f.endsWith('.pb.gz'));
    assert.strictEqual(saved.length, 1, `rescued files: ${saved}`);
    const rep = lp.loopperf(['report', path.join(rescue, saved[0])]);
    assertStatus(rep, EXIT.ok, 'report of the rescued profile');
    assert.match(rep.stdout, /hotFunction/);
    assertUnharmed(t.pid);
  } finally {
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(rescue, { recursive: true, force: true });
  }
});

test('a profile its reader may not read: exit 6 (an unreadable input, as documented) with a hint naming the uid', { skip: !isRoot && 'needs root to read as another user' }, () => {
  const dir = lp.tmpdir('unreadable');
  const outDir = lp.tmpdir('unreadable-out');
  try {
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(outDir, 0o777);
    const file = path.join(dir, 'p.pb.gz');
    const rec = lp.loopperf(['record', '-q', '-o', file, '--', process.execPath, path.join(lp.TARGETS, 'hot.js')],
      { env: { ...process.env, DURATION_MS: '300' } });
    assertStatus(rec, EXIT.ok, 'recording the profile');
    fs.chmodSync(file, 0o600);
    for (const args of [['report', file], ['convert', file, '-o', path.join(outDir, 'x.html')], ['diff', file, file]]) {
      const r = spawnSync(lp.LOOPPERF, args, { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60000 });
      assertStatus(r, EXIT.input, args.join(' '));
      assert.match(r.stderr, /cannot read .*p\.pb\.gz: Permission denied/, args.join(' '));
      assert.match(r.stderr, /hint: .*uid 65534/, args.join(' '));
    }
    assert.ok(!fs.existsSync(path.join(outDir, 'x.html')), 'convert wrote nothing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});

// Descriptors run out (`ulimit -n`, both limits, so loopperf cannot raise the soft one): each thread
// takes a perf fd, each node thread four more for loop health. The recording goes on with what it
// could open, the file is written (16 descriptors are kept back for it), and the exit status and
// message say what ran out; a live target is never reported as exited, tracefs never as unmounted.
// Sanitizer builds (scripts/test-asan.sh) cannot run this or the next case (docs/hardening.md):
// UBSan's vptr check needs a free descriptor, ASan's shadow memory terabytes of address space.
const SANITIZED = process.env.LOOPPERF_SANITIZED ? 'not under the sanitizers (docs/hardening.md)' : false;
test('file descriptors (ulimit -n): exit 7 and the ulimit hint, the profile written, the target not taken for exited', { skip: SANITIZED }, async () => {
  const t = await lp.startTarget('hot.js');
  const dir = lp.tmpdir('ulimit-n');
  const native = process.env.NATIVE_DIR || path.resolve(path.dirname(lp.LOOPPERF), 'tests/native');
  const ready = path.join(dir, 'threads.ready');
  const threads = spawn(path.join(native, 'many_threads'), ['120'], { env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
  try {
    await lp.waitForFileAsync(ready);
    for (const [pid, n, what] of [[t.pid, 16, 'node, ulimit -n 16'], [t.pid, 32, 'node, ulimit -n 32'], [threads.pid, 64, '120 threads, ulimit -n 64']]) {
      const out = path.join(dir, `p-${pid}-${n}.pb.gz`);
      const r = spawnSync('bash', ['-c', `ulimit -n ${n}; exec "$0" "$@"`, lp.LOOPPERF, 'record', '-p', String(pid), '-d', '1s', '-o', out],
        { encoding: 'utf8', timeout: 120000 });
      assertStatus(r, EXIT.resource, what);
      assert.match(r.stderr, /ran out of file descriptors \(ulimit -n is \d+; \d+ opens refused\)/, what);
      assert.match(r.stderr, /hint: raise `ulimit -n`/, what);
      assert.doesNotMatch(r.stderr, /target exited|tracefs is not mounted|no process with pid/, what);
      assert.ok(fs.existsSync(out), `${what}: the profile was written`);
      const rep = lp.loopperf(['report', '--format', 'json', out]);
      assertStatus(rep, EXIT.ok, `${what}: report`);
      // hot.js spins (its samples were kept); many_threads' threads sleep.
      if (pid === t.pid) assert.ok(JSON.parse(rep.stdout).recording.samples > 0, `${what}: samples were recorded`);
    }
    assertUnharmed(t.pid);
  } finally {
    threads.kill('SIGKILL');
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Address-space limits put allocation failures everywhere in turn: at start-up, while sampling (the
// main loop, the wall sampler's thread), while building the profile, inside libdw. Every one is exit
// 7 with a message, never a signal, a bare libdw exit 1 or an internal error; a recording stopped by
// it still writes what it had; the target runs on.
test('memory limits (ulimit -v): exit 7 with a message, the profile kept when it could be written, never a crash', { skip: SANITIZED }, async () => {
  const t = await lp.startTarget('hot.js');
  const dir = lp.tmpdir('ulimit-v');
  try {
    const seen = {};
    for (const kb of [50000, 70000, 90000, 120000, 400000]) {
      for (const mode of ['cpu', 'wall']) {
        const out = path.join(dir, `p-${kb}-${mode}.pb.gz`);
        const r = spawnSync('bash', ['-c', `ulimit -v ${kb}; exec "$0" "$@"`, lp.LOOPPERF, 'record', '-p', String(t.pid), '-d', '1s',
          '--mode', mode, '-o', out], { encoding: 'utf8', timeout: 120000 });
        const what = `ulimit -v ${kb}, ${mode}`;
        assert.strictEqual(r.signal, null, `${what}: killed by a signal\n${r.stderr}`);
        assert.ok([EXIT.ok, EXIT.resource].includes(r.status), `${what}: status ${r.status}\n${r.stderr}`);
        if (r.status === EXIT.resource) assert.match(r.stderr, /error: out of (memory|resources)/, what);
        if (r.status === EXIT.ok || /holds what was collected/.test(r.stderr)) {
          assert.ok(fs.existsSync(out), `${what}: the profile was written`);
          assertStatus(lp.loopperf(['report', out]), EXIT.ok, `${what}: report`);
        }
        seen[r.status] = (seen[r.status] || 0) + 1;
        assertUnharmed(t.pid);
      }
    }
    // The limits span both ends: refused (7) at the low end, recorded (0) at the high end.
    assert.ok(seen[EXIT.resource] > 0 && seen[EXIT.ok] > 0, JSON.stringify(seen));
  } finally {
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A thread-group leader that ended (pthread_exit) is a zombie while its other threads run: the
// process is alive, but /proc/PID no longer shows its memory map or executable, and the kernel
// refuses a perf event on the leader. loopperf records the live threads, reading through one of them.
test('a zombie leader with live threads: the threads are recorded and named, the target runs on', async () => {
  const native = process.env.NATIVE_DIR || path.resolve(path.dirname(lp.LOOPPERF), 'tests/native');
  const dir = lp.tmpdir('zombie-leader');
  const ready = path.join(dir, 'ready');
  const child = spawn(path.join(native, 'zombie_leader'), [], { env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
  try {
    await lp.waitForFileAsync(ready);
    await lp.until(() => lp.procState(child.pid) === 'Z', 'the leader to exit');
    const tids = fs.readdirSync(`/proc/${child.pid}/task`).map(Number).filter((t) => t !== child.pid);
    assert.strictEqual(tids.length, 1, 'one live thread');
    await lp.waitForCpu(child.pid, 0.2, tids[0]);
    const out = path.join(dir, 'p.pb.gz');
    const r = lp.loopperf(['record', '-p', String(child.pid), '-d', '1s', '-o', out]);
    assertStatus(r, EXIT.ok, 'record');
    assert.match(r.stderr, /main thread has exited \(a zombie leader\).*through thread \d+/);
    assert.doesNotMatch(r.stderr, /target exited/);
    const rep = JSON.parse(lp.loopperf(['report', out, '--format', 'json']).stdout);
    assert.ok(rep.recording.samples >= 20, `samples ${rep.recording.samples}`);
    assert.match(lp.loopperf(['report', out]).stdout, /spin_in_worker/);
    assert.match(lp.pprof(['-raw', out]), new RegExp(`loopperf:target.pid=${child.pid}\\b`));
    const dump = lp.loopperf(['dump', '-p', String(child.pid)]);
    assertStatus(dump, EXIT.ok, 'dump');
    assert.match(dump.stdout, /exited \(the leader/);
    assert.match(dump.stdout, /spin_in_worker/);
    assert.ok(lp.isAlive(child.pid), 'target alive');
    assert.strictEqual(lp.procState(tids[0]), 'R', 'its thread runs on');
    assert.strictEqual(lp.tracerPid(tids[0]), 0, 'not traced');
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('standard output that cannot be written (a full disk) is an error, exit 5, for every command that prints', async () => {
  const t = await lp.startTarget('hot.js');
  const dir = lp.tmpdir('stdout');
  const full = fs.openSync('/dev/full', 'w');
  try {
    const out = path.join(dir, 'p.pb.gz');
    assertStatus(lp.loopperf(['record', '-p', String(t.pid), '-d', '500ms', '-o', out]), EXIT.ok, 'record');
    for (const args of [['report', out], ['report', '--format', 'json', out], ['diff', out, out],
      ['diff', '--fail', out, out], ['dump', '-p', String(t.pid)], ['dump', '--json', '-p', String(t.pid)], ['--help']]) {
      const r = spawnSync(lp.LOOPPERF, args, { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60000 });
      assertStatus(r, EXIT.output, args.join(' '));
      assert.match(r.stderr, /could not write to standard output: No space left on device/, args.join(' '));
    }
    assertUnharmed(t.pid);
  } finally {
    fs.closeSync(full);
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// loopperf asks the target's executable for its version (/proc/PID/exe --version), and only when
// that file is named node (process::executable_named_node). Anyone can run their own program as
// "node" (argv[0] is enough, or a file of that name): run as root, it would be their code as root.
test('a target posing as node: its executable is run only when named node, and then as the target\'s user, never as root', { skip: !isRoot && 'needs root' }, async () => {
  const dir = lp.tmpdir('impostor');
  fs.chmodSync(dir, 0o777);
  const ranAs = path.join(dir, 'ran-as');
  const ready = path.join(dir, 'ready');
  try {
    fs.writeFileSync(path.join(dir, 'impostor.c'), `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    FILE* f = fopen("${ranAs}", "w");
    if (f) { fprintf(f, "%u %u", getuid(), geteuid()); fclose(f); }
    printf("v99.0.0\\n");
    return 0;
  }
  FILE* f = fopen("${ready}", "w"); if (f) { fputs("ready", f); fclose(f); }
  for (;;) pause();
}
`);
    const cc = spawnSync('cc', ['-O1', '-o', 'impostor', 'impostor.c'], { cwd: dir, encoding: 'utf8' });
    assert.strictEqual(cc.status, 0, cc.stderr);
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(path.join(dir, 'impostor'), path.join(dir, 'bin', 'node'));
    const { spawn } = require('node:child_process');
    // argv[0] "node" from a file named otherwise: taken for node by its name, never run.
    // A file named node: run for its version, as the target's user.
    for (const [file, runs] of [['impostor', false], ['bin/node', true]]) {
      fs.rmSync(ranAs, { force: true });
      fs.rmSync(ready, { force: true });
      fs.chmodSync(path.join(dir, file), 0o755);
      const child = spawn(path.join(dir, file), [], { argv0: 'node', uid: 65534, gid: 65534, stdio: 'ignore' });
      process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
      try {
        await lp.waitForFileAsync(ready);
        const out = path.join(dir, 'p.pb.gz');
        const r = lp.loopperf(['record', '-p', String(child.pid), '-d', '300ms', '-o', out]);
        assertStatus(r, EXIT.ok, file);
        if (runs) {
          assert.strictEqual(fs.readFileSync(ranAs, 'utf8'), '65534 65534', `${file}: ran as the target's user`);
          assert.match(lp.pprof(['-raw', out]), /loopperf:target.node_version=v99.0.0/);
        } else {
          assert.ok(!fs.existsSync(ranAs), `${file}: not run`);
          assert.doesNotMatch(lp.pprof(['-raw', out]), /loopperf:target.node_version=v/);
        }
      } finally {
        child.kill('SIGKILL');
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// The perf map of a live target, changed while loopperf reads it

// Records `hot.js` (started with --perf-basic-prof) for 2 s and applies `mutate(mapPath)` once
// loopperf holds the map open (/proc/<loopperf>/fd) and has sampled 0.2 s of the target's CPU, while
// it tails the map. Returns the run and whether hotFunction got its name.
async function recordWhileMapChanges(mutate, { nodeArgs } = {}) {
  const t = await lp.startTarget('hot.js', nodeArgs ? { nodeArgs } : {});
  const out = path.join(t.dir, 'p.pb.gz');
  const map = `/tmp/perf-${t.pid}.map`;
  try {
    let child;
    // 3 s: the map is changed after the target has run 0.2 s of CPU under the recording, which on a
    // loaded CI machine took past the 2 s this once had (the change then came after the recording).
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '3s', '-o', out], { onSpawn: (c) => { child = c; } });
    await lp.waitForOpen(child.pid, map);
    await lp.waitForCpu(t.pid, 0.2);
    assert.strictEqual(child.exitCode, null, 'the map changes while loopperf records');
    mutate(map, t);
    const r = await done;
    const named = r.status === 0 && /hotFunction/.test(lp.loopperf(['report', out]).stdout);
    const raw = r.status === 0 ? lp.pprof(['-raw', out]) : '';
    assertUnharmed(t.pid);
    return { r, named, raw };
  } finally {
    lp.stopTarget(t);
  }
}

test('perf map: garbage, truncation and replacement while recording still give a profile', async () => {
  const cases = {
    'binary garbage appended': (map) => {
      fs.appendFileSync(map, Buffer.concat([crypto.randomBytes(256 << 10), Buffer.alloc(3 << 20, 'x'), Buffer.from('\n')]));
    },
    'malformed lines appended': (map) => {
      fs.appendFileSync(map, ['zz 10 JS:x', '1000', '1000 ffffffffffffffff JS:huge', 'ffffffffffffffff 10 JS:wrap',
        '1000 10 \u0001\u0002', '-5 5 JS:neg', `1000 10 JS:${'a'.repeat(200000)}`, ''].join('\n'));
    },
    'truncated to zero': (map) => fs.truncateSync(map, 0),
    'truncated mid-line': (map) => fs.truncateSync(map, Math.floor(fs.statSync(map).size / 2) + 3),
    'replaced by another file': (map) => {
      const tmp = `${map}.new`;
      fs.writeFileSync(tmp, crypto.randomBytes(64 << 10));
      fs.renameSync(tmp, map);
    },
    'deleted': (map) => fs.rmSync(map),
  };
  for (const [name, mutate] of Object.entries(cases)) {
    const { r, named } = await recordWhileMapChanges(mutate);
    assertStatus(r, EXIT.ok, name);
    // What was read before the damage still names the hot function. A truncated map is read again
    // from the start (in-process writers truncate and rewrite): entries cut off are gone.
    if (!name.startsWith('truncated')) assert.ok(named, `${name}: hotFunction named\n${r.stderr}`);
  }
});

test('perf map: a huge sparse file does not stall the recording', async () => {
  const started = Date.now();
  const { r, named } = await recordWhileMapChanges((map) => fs.truncateSync(map, 64 * 2 ** 30));
  assertStatus(r, EXIT.ok, 'huge sparse perf map');
  // Reading stops at the hole's first NUL byte (V8 writes text), with a warning; what was read before
  // still names the hot function.
  assert.match(r.stderr, /holds a NUL byte at offset \d+ \(sparse or corrupt/, r.stderr);
  assert.ok(named, `hotFunction named\n${r.stderr}`);
  // -d 3s plus symbolization; reading 64 GiB of zeros would take minutes.
  assert.ok(Date.now() - started < 30000, `took ${Date.now() - started} ms`);
});

test('perf map: made writable by others or given away during the recording is ignored, with a warning', { skip: !isRoot && 'needs root to chown' }, async () => {
  const cases = {
    'chmod 0666': [(map) => fs.chmodSync(map, 0o666), /writable by group or others/],
    'chown nobody': [(map) => fs.chownSync(map, 65534, 65534), /uid 65534/],
  };
  for (const [name, [mutate, message]] of Object.entries(cases)) {
    const { r, raw } = await recordWhileMapChanges(mutate);
    assertStatus(r, EXIT.ok, name);
    assert.match(r.stderr, /perf map .* was ignored/, `${name}: warns`);
    assert.match(r.stderr, message, name);
    assert.match(raw, /loopperf:perf_map=ignored/, `${name}: the profile says so`);
  }
});

test('perf map: planted before loopperf starts (world-writable, foreign owner, FIFO, symlink, stale) is refused, never waited on', { skip: !isRoot && 'needs root to chown' }, async () => {
  // The target runs without --perf-basic-prof, so the file at /tmp/perf-PID.map is someone else's.
  // Each case says what it planted: [make it, what lstat must show, what loopperf must say].
  const plant = {
    'world-writable': [(map) => { fs.writeFileSync(map, '1000 10 JS:*planted /evil.js:1:1\n'); fs.chmodSync(map, 0o666); },
      (st) => st.isFile() && (st.mode & 0o777) === 0o666, /writable by group or others/],
    'owned by nobody': [(map) => { fs.writeFileSync(map, '1000 10 JS:*planted /evil.js:1:1\n'); fs.chownSync(map, 65534, 65534); },
      (st) => st.isFile() && st.uid === 65534, /owned by uid 65534/],
    'a FIFO': [(map) => { const r = spawnSync('mkfifo', [map], { encoding: 'utf8' }); assert.strictEqual(r.status, 0, `mkfifo: ${r.stderr}`); },
      (st) => st.isFIFO(), /no perf map/],
    'a symlink to a real map': [(map) => fs.symlinkSync('/etc/hostname', map), (st) => st.isSymbolicLink(), /no perf map/],
    // Root's, 0644, well formed: trusted by owner and mode, but last written an hour before the
    // target started, so it is the map of an earlier process that had the same pid.
    'left by an earlier process with the same pid': [(map) => {
      fs.writeFileSync(map, '1000 10 JS:*planted /evil.js:1:1\n');
      const hourAgo = new Date(Date.now() - 3600e3);
      fs.utimesSync(map, hourAgo, hourAgo);
    }, (st) => st.isFile() && (st.mode & 0o022) === 0 && st.mtimeMs < Date.now() - 3000e3, /ignored: last written before pid \d+ started/],
  };
  for (const [name, [make, planted, message]] of Object.entries(plant)) {
    const t = await lp.startTarget('idle.js', { nodeArgs: [] });
    const map = `/tmp/perf-${t.pid}.map`;
    try {
      // PIDs wrap (pid_max is often 32768) and node never removes its perf map, so /tmp may still
      // hold the map of an earlier `node --perf-basic-prof` that had this pid (benchmarks, killed
      // runs): a regular file, ours, 0644, which loopperf rightly reads. Left there, mkfifo and
      // symlink fail with EEXIST and the case records against that file instead of its plant (the
      // FIFO case once saw no warning at all). Our target writes no map, so anything there is stale.
      fs.rmSync(map, { force: true });
      make(map);
      const st = fs.lstatSync(map);
      assert.ok(planted(st), `${name}: planted mode ${st.mode.toString(8)} uid ${st.uid}`);
      const out = path.join(t.dir, 'p.pb.gz');
      // SIGKILL on timeout: a loopperf blocked opening a FIFO does not end on SIGTERM. `--js-names
      // map`: with the heap naming the frames, a map that is not there (a FIFO, a symlink: skipped)
      // is nothing to warn about; the perf map alone shows what the user is told of it.
      const r = lp.loopperf(['record', '-p', String(t.pid), '-d', '500ms', '--js-names', 'map', '-o', out], { timeout: 30000, killSignal: 'SIGKILL' });
      assertStatus(r, EXIT.ok, name);
      assert.match(r.stderr, message, name);
      assert.doesNotMatch(lp.pprof(['-raw', out]), /planted/, `${name}: no planted name`);
      assertUnharmed(t.pid);
    } finally {
      fs.rmSync(map, { force: true });
      lp.stopTarget(t);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// ELF files changed on disk while the target runs, and /proc/PID/maps changing underneath

const NATIVE_LIB = `
#include <time.h>
__attribute__((noinline)) static void lib_use(unsigned long v) { __asm__ volatile("" : : "r"(v)); }
__attribute__((noinline)) void lib_leaf(unsigned long n) { for (unsigned long i = 0; i < n; i++) lib_use(i * 7); }
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000 + t.tv_nsec / 1000000; }
void lib_spin_ms(long ms) { long end = now_ms() + ms; while (now_ms() < end) lib_leaf(10000); }
`;
// prog LIB READY MODE: "spin" runs in LIB until killed; "churn" dlopens and dlcloses copies of LIB
// and maps and unmaps executable memory, so /proc/PID/maps changes all the time.
const NATIVE_PROG = `
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(int argc, char** argv) {
  if (argc < 4) return 2;
  FILE* f = fopen(argv[2], "w"); fprintf(f, "ready"); fclose(f);
  for (;;) {
    void* h = dlopen(argv[1], RTLD_NOW);
    if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 3; }
    void (*spin)(long) = (void (*)(long))dlsym(h, "lib_spin_ms");
    if (strcmp(argv[3], "spin") == 0) for (;;) spin(1000);
    spin(2);
    void* m = mmap(0, 1 << 16, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m, 1 << 16);
    dlclose(h);
  }
}
`;

function buildNative(dir) {
  fs.writeFileSync(path.join(dir, 'lib.c'), NATIVE_LIB);
  fs.writeFileSync(path.join(dir, 'prog.c'), NATIVE_PROG);
  for (const args of [['-O1', '-g', '-fPIC', '-shared', '-fomit-frame-pointer', '-o', 'lib.so', 'lib.c'], ['-O1', '-g', '-o', 'prog', 'prog.c', '-ldl']]) {
    const r = spawnSync('cc', args, { cwd: dir, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, `cc ${args.join(' ')}: ${r.stderr}`);
  }
}

// Offsets in an ELF64 file: the .eh_frame_hdr segment and where the loaded part ends.
function elfLayout(buf) {
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phnum = buf.readUInt16LE(0x38);
  let ehFrame = null;
  let loadedEnd = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * 56;
    const type = buf.readUInt32LE(o);
    const offset = Number(buf.readBigUInt64LE(o + 8));
    const filesz = Number(buf.readBigUInt64LE(o + 32));
    if (type === 1) loadedEnd = Math.max(loadedEnd, offset + filesz);
    if (type === 0x6474e550) ehFrame = { offset, size: filesz };
  }
  return { ehFrame, loadedEnd };
}

async function startNative(dir, mode, lib) {
  const ready = path.join(dir, `ready-${mode}`);
  const { spawn } = require('node:child_process');
  const child = spawn(path.join(dir, 'prog'), [lib, ready, mode], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
  await lp.waitForFileAsync(ready);
  return child;
}

test('ELF: a shared library corrupted or truncated on disk while the target runs in it', { skip: !spawnSync('cc', ['--version']).stdout && 'no C compiler' }, async () => {
  const dir = lp.tmpdir('elf');
  try {
    buildNative(dir);
    // The running executable itself cannot be changed: the kernel refuses writes to it (ETXTBSY).
    // Its libraries can, and loopperf reads them from disk while the target keeps the old pages.
    const exe = await startNative(dir, 'spin', path.join(dir, 'lib.so'));
    assert.throws(() => fs.openSync(path.join(dir, 'prog'), 'r+'), /ETXTBSY/);
    exe.kill('SIGKILL');

    const damage = {
      // Unwind tables, symbols, debug info and section headers overwritten in place: the target never
      // reads them (it runs on), loopperf's DWARF unwinder and symbolizer do.
      corrupted: (lib) => {
        const buf = fs.readFileSync(lib);
        const { ehFrame, loadedEnd } = elfLayout(buf);
        const fd = fs.openSync(lib, 'r+');
        if (ehFrame) fs.writeSync(fd, crypto.randomBytes(ehFrame.size), 0, ehFrame.size, ehFrame.offset);
        const tailStart = Math.ceil(loadedEnd / 4096) * 4096;
        if (buf.length > tailStart) fs.writeSync(fd, crypto.randomBytes(buf.length - tailStart), 0, buf.length - tailStart, tailStart);
        fs.closeSync(fd);
      },
      // Cut to its first 8 KiB: the target may die of SIGBUS; loopperf must not, and keeps what it saw.
      truncated: (lib) => fs.truncateSync(lib, 8192),
      'truncated to zero': (lib) => fs.truncateSync(lib, 0),
    };
    for (const [name, hurt] of Object.entries(damage)) {
      const lib = path.join(dir, `lib-${name.replace(/\W+/g, '-')}.so`);
      fs.copyFileSync(path.join(dir, 'lib.so'), lib);
      const child = await startNative(dir, 'spin', lib);
      const out = path.join(dir, `${name}.pb.gz`);
      try {
        let rec;
        const done = lp.loopperfAsync(['record', '-p', String(child.pid), '-d', '1500ms', '--unwind', 'dwarf', '-o', out],
          { onSpawn: (c) => { rec = c; } });
        // Damage it once loopperf has it open for symbols and unwind tables.
        await lp.waitForOpen(rec.pid, lib);
        hurt(lib);
        const r = await done;
        assertStatus(r, EXIT.ok, `library ${name}`);
        assertStatus(lp.loopperf(['report', out]), EXIT.ok, `report after library ${name}`);
        if (name === 'corrupted') assert.ok(lp.isAlive(child.pid), 'the target runs on');
      } finally {
        child.kill('SIGKILL');
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A native addon the target ran (in a worker, so loopperf names its frames while recording), cut
// after its loaded part while the target runs on in JavaScript: the symbols, debug info and section
// headers loopperf maps are gone. This killed loopperf with SIGBUS and lost the profile.
const ADDON = `
#include <node_api.h>
#include <time.h>
__attribute__((noinline)) static void addon_leaf(unsigned long n) { for (unsigned long i = 0; i < n; i++) __asm__ volatile("" : : "r"(i)); }
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000 + t.tv_nsec / 1000000; }
static napi_value addon_spin(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int64_t ms = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int64(env, argv[0], &ms);
  long end = now_ms() + ms; while (now_ms() < end) addon_leaf(10000);
  return NULL;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "spin", NAPI_AUTO_LENGTH, addon_spin, NULL, &fn);
  napi_set_named_property(env, exports, "spin", fn);
  return exports;
}
`;
const ADDON_APP = `
const { Worker, isMainThread } = require('node:worker_threads');
const fs = require('node:fs');
if (isMainThread) {
  new Worker(__filename, { argv: process.argv.slice(2) });
  setInterval(() => {}, 1000);
} else {
  const m = { exports: {} };
  process.dlopen(m, process.argv[2]);
  fs.writeFileSync(process.argv[3] + '.in', 'in the addon');
  m.exports.spin(1500);
  fs.writeFileSync(process.argv[3], 'left the addon');
  for (;;) { let s = 0; for (let i = 0; i < 1e7; i++) s += i; }
}
`;

test('ELF: a native addon cut short on disk while loopperf holds it open', { skip: !fs.existsSync('/usr/include/node/node_api.h') && 'no node_api.h' }, async () => {
  const dir = lp.tmpdir('addon');
  try {
    fs.writeFileSync(path.join(dir, 'addon.c'), ADDON);
    fs.writeFileSync(path.join(dir, 'app.js'), ADDON_APP);
    const cc = spawnSync('cc', ['-O1', '-g', '-shared', '-fPIC', '-I/usr/include/node', '-o', 'addon.node', 'addon.c'], { cwd: dir, encoding: 'utf8' });
    assert.strictEqual(cc.status, 0, cc.stderr);
    const left = path.join(dir, 'left');
    const { spawn } = require('node:child_process');
    const addon = path.join(dir, 'addon.node');
    const child = spawn(process.execPath, [path.join(dir, 'app.js'), addon, left], { stdio: 'ignore' });
    process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
    try {
      // The worker's first samples must land in the addon: loopperf names those while recording.
      await lp.waitForFileAsync(`${left}.in`);
      await sleep(100);
      const out = path.join(dir, 'p.pb.gz');
      let rec;
      const done = lp.loopperfAsync(['record', '-p', String(child.pid), '-d', '2500ms', '-o', out], { onSpawn: (c) => { rec = c; } });
      await lp.waitForFileAsync(left);
      await lp.waitForOpen(rec.pid, addon);  // loopperf holds the addon open: the case this is about
      const loadedEnd = elfLayout(fs.readFileSync(addon)).loadedEnd;
      fs.truncateSync(addon, Math.ceil(loadedEnd / 4096) * 4096);
      const r = await done;
      assertStatus(r, EXIT.ok, 'addon truncated');
      assertStatus(lp.loopperf(['report', out]), EXIT.ok, 'report');
      assert.ok(lp.isAlive(child.pid), 'the target runs on');
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('/proc/PID/maps changing all the time (dlopen/dlclose, mmap/munmap) while recording', { skip: !spawnSync('cc', ['--version']).stdout && 'no C compiler' }, async () => {
  const dir = lp.tmpdir('churn');
  try {
    buildNative(dir);
    const child = await startNative(dir, 'churn', path.join(dir, 'lib.so'));
    try {
      for (const unwind of ['dwarf', 'fp']) {
        const out = path.join(dir, `churn-${unwind}.pb.gz`);
        const r = await lp.loopperfAsync(['record', '-p', String(child.pid), '-d', '1500ms', '--unwind', unwind, '-o', out]);
        assertStatus(r, EXIT.ok, `maps churn, --unwind ${unwind}`);
        const rep = lp.loopperf(['report', out]);
        assertStatus(rep, EXIT.ok, 'report');
        assert.ok(lp.isAlive(child.pid), 'target alive');
      }
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
