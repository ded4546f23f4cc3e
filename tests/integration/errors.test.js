// Preflight and bad input: each case gives its message, a distinct exit status, and leaves the
// target running, unstopped and untraced.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const EXIT = { usage: 2, noProcess: 3, permission: 4, output: 5, launch: 8 };

function assertUnharmed(pid) {
  assert.ok(lp.isAlive(pid), 'target alive');
  assert.ok(['R', 'S'].includes(lp.procState(pid)), `target state ${lp.procState(pid)}`);
  assert.strictEqual(lp.tracerPid(pid), 0, 'target not traced');
}

test('no such process', () => {
  const r = lp.loopperf(['record', '-p', '4194000', '-d', '1s', '-o', '/tmp/x.pb.gz']);
  assert.strictEqual(r.status, EXIT.noProcess);
  assert.match(r.stderr, /no process with pid 4194000/);
  assert.match(r.stderr, /hint: /);
});

test('bad values are usage errors', () => {
  for (const args of [['-p', 'abc'], ['-p', '-1'], ['-p', '1', '-d', 'soon'], ['-p', '1', '-F', '0'],
    ['-p', '1', '-F', '99999999'], ['-p', String(process.pid), '-d', '0s'], []]) {
    const r = lp.loopperf(['record', ...args]);
    assert.strictEqual(r.status, EXIT.usage, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error: /);
  }
});

test('unwritable output fails before attaching, target untouched, nothing left behind', async () => {
  const t = await lp.startTarget('idle.js');
  try {
    for (const out of ['/nonexistent-dir/p.pb.gz', '/proc/p.pb.gz', t.dir]) {
      const r = lp.loopperf(['record', '-p', String(t.pid), '-d', '1s', '-o', out]);
      assert.strictEqual(r.status, EXIT.output, `${out}: ${r.stderr}`);
      assert.match(r.stderr, /cannot|does not exist|directory/);
    }
    const r = lp.loopperf(['record', '-p', String(t.pid), '-d', '1s', '-o', path.join(t.dir, 'x.html.unknown')]);
    assert.strictEqual(r.status, EXIT.usage);
    assert.match(r.stderr, /output format/);
    assertUnharmed(t.pid);
    // The target's own V8 log (it runs with --perf-basic-prof) is not ours.
    assert.deepStrictEqual(fs.readdirSync(t.dir).filter((f) => f !== 'ready' && !/^isolate-/.test(f)), []);
  } finally {
    lp.stopTarget(t);
  }
});

test('a command that cannot be run', () => {
  const r = lp.loopperf(['record', '-o', '/tmp/lp-none.pb.gz', '--', '/nonexistent/program']);
  assert.strictEqual(r.status, EXIT.launch);
  assert.match(r.stderr, /cannot run the command '\/nonexistent\/program': No such file or directory/);
  assert.match(r.stderr, /check the program's path/);
  assert.ok(!fs.existsSync('/tmp/lp-none.pb.gz'));
});

test('an empty option value is a usage error, not the default; durations take the unit names people write', () => {
  // -d '' would otherwise record until stopped.
  const empty = lp.loopperf(['record', '-d', '', '-o', '/tmp/lp-none.pb.gz', '--', 'true']);
  assert.strictEqual(empty.status, EXIT.usage, empty.stderr);
  assert.match(empty.stderr, /option --duration was given an empty value/);
  assert.ok(!fs.existsSync('/tmp/lp-none.pb.gz'));
  const secs = lp.loopperf(['record', '-q', '-d', '2secs', '-o', '/tmp/lp-secs.pb.gz', '--', 'true']);
  assert.strictEqual(secs.status, 0, secs.stderr);
  fs.rmSync('/tmp/lp-secs.pb.gz', { force: true });
});

test('another user\'s process: the error says whose it is, and what would allow it', { skip: process.getuid() !== 0 && 'needs root to drop privileges' }, async () => {
  const t = await lp.startTarget('idle.js');
  try {
    // As an unprivileged user, another user's process is off limits whatever the sysctl says.
    const r = lp.loopperf(['record', '-p', String(t.pid), '-d', '1s', '-o', '/tmp/lp-perm.pb.gz'], { uid: 65534, gid: 65534 });
    assert.strictEqual(r.status, EXIT.permission, r.stderr);
    // Whose process it is, not the sysctl: lowering perf_event_paranoid would not help.
    assert.match(r.stderr, new RegExp(`belongs to uid 0 and loopperf runs as uid 65534`));
    assert.match(r.stderr, /CAP_PERFMON/);
    assertUnharmed(t.pid);
  } finally {
    lp.stopTarget(t);
  }
});
