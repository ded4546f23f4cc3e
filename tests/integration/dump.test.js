// loopperf dump: every thread's stack at one moment through ptrace, and the target carries on.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const lp = require('./lib');

function getTicks(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body).ticks));
    }).on('error', reject).setTimeout(5000, function () { this.destroy(new Error('no answer')); });
  });
}

// The idle target's timer keeps ticking: two answers some ticks apart.
async function assertServing(port) {
  const a = await getTicks(port);
  await new Promise((r) => setTimeout(r, 250));
  const b = await getTicks(port);
  assert.ok(b > a, `the target's timer must keep firing (${a} -> ${b})`);
}

function dumpJson(pid) {
  const r = lp.loopperf(['dump', '-p', String(pid), '--json']);
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const names = (th) => th.frames.map((f) => f.name);
const indexOf = (th, re) => names(th).findIndex((n) => re.test(n));

test('an idle node: epoll_pwait -> uv__io_poll -> uv_run, phase poll, idle-wait', async () => {
  const t = await lp.startTarget('idle.js');
  try {
    const port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
    const d = dumpJson(t.pid);
    const main = d.threads.find((th) => th.tid === t.pid);
    assert.strictEqual(main.role, 'main-loop');
    assert.strictEqual(main.phase, 'poll');
    assert.strictEqual(main.activity, 'idle-wait');
    assert.match(main.syscall, /^epoll_p?wait$/);
    const wait = indexOf(main, /^epoll_p?wait$/);
    const poll = indexOf(main, /^uv__io_poll$/);
    const run = indexOf(main, /^uv_run$/);
    assert.ok(wait >= 0 && wait < poll && poll < run, names(main).join(' < '));
    // docs/dump.md: 67 dumps of this target on the loaded 2-core VM (load ~6): the longest stop of a
    // dump had a median of 0.4 ms, was over 1 ms in about a third, up to 8.4 ms, and 15 and 32 ms
    // once each (44 ms was seen once before). Each dump under 100 ms, the median of seven under 10 ms.
    const maxes = [d.max_stopped_ns];
    for (let i = 0; i < 6; i++) maxes.push(dumpJson(t.pid).max_stopped_ns);
    for (const m of maxes) assert.ok(m > 0 && m < 100e6, `stopped ${m} ns`);
    const median = [...maxes].sort((x, y) => x - y)[3];
    assert.ok(median < 10e6, `median longest stop ${median} ns (${maxes.join(' ')})`);
    assert.ok(d.threads.length >= 5, 'every thread is dumped');
    const text = lp.loopperf(['dump', '-p', String(t.pid)]);
    assert.match(text.stdout, /the target was stopped one thread at a time: at most \d+ µs per thread/);
    await assertServing(port);
    assert.strictEqual(lp.tracerPid(t.pid), 0);
  } finally {
    lp.stopTarget(t);
  }
});

test('blocked in readFileSync of a slow FIFO: read <- uv_fs_read <- node::fs <- JS caller <- uv_run, sync-io', async () => {
  const dir = lp.tmpdir('fifo');
  const fifo = path.join(dir, 'token.fifo');
  execFileSync('mkfifo', [fifo]);
  // Interpreted frames are named only with --interpreted-frames-native-stack (docs/troubleshooting.md).
  const t = await lp.startTarget('dump_fifo.js', { args: [fifo], nodeArgs: ['--perf-basic-prof', '--interpreted-frames-native-stack'] });
  let writer;
  try {
    // Opening the write end lets the target's open() return; with no data its read() blocks.
    writer = fs.openSync(fifo, 'w');
    const deadline = Date.now() + 10000;
    while (!fs.readFileSync(`/proc/${t.pid}/syscall`, 'utf8').startsWith('0 ')) {  // read(2)
      assert.ok(Date.now() < deadline, 'the target should block in read');
      await new Promise((r) => setTimeout(r, 10));
    }
    const d = dumpJson(t.pid);
    const main = d.threads.find((th) => th.tid === t.pid);
    assert.strictEqual(main.syscall, 'read');
    assert.strictEqual(main.activity, 'sync-io');
    assert.strictEqual(main.phase, 'timers');
    const order = [/^(read|__read|__libc_read|__GI___libc_read)$/, /^uv_fs_read$/, /^node::fs::/, /^readToken$/, /^checkAuth$/, /^uv_run$/];
    let last = -1;
    for (const re of order) {
      const i = indexOf(main, re);
      assert.ok(i > last, `${re} after index ${last} in: ${names(main).join(' < ')}`);
      last = i;
    }
    fs.writeSync(writer, 'secret');
    fs.closeSync(writer);
    writer = undefined;
    // Unblocked: the target reads and carries on.
    const until = Date.now() + 10000;
    while (fs.readFileSync(`/proc/${t.pid}/syscall`, 'utf8').startsWith('0 ')) {
      assert.ok(Date.now() < until, 'the target should leave read() once data arrives');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    if (writer !== undefined) fs.closeSync(writer);
    lp.stopTarget(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a busy node: JS names from the perf map and native frames', async () => {
  const t = await lp.startTarget('hot.js');
  try {
    let found = false;
    // The hot loop runs ~98% of the time; a few dumps are enough to catch it in hotFunction or tick.
    for (let i = 0; i < 10 && !found; i++) {
      const main = dumpJson(t.pid).threads.find((th) => th.tid === t.pid);
      found = indexOf(main, /^(hotFunction|tick)$/) >= 0 && indexOf(main, /^uv_run$/) > indexOf(main, /^(hotFunction|tick)$/) &&
        main.frames.some((f) => f.kind === 'native');
    }
    assert.ok(found, 'a dump shows hotFunction/tick above uv_run');
    assert.ok(lp.isAlive(t.pid));
    assert.ok(['R', 'S'].includes(lp.procState(t.pid)));
  } finally {
    lp.stopTarget(t);
  }
});

// A dump killed while it holds a thread in its ptrace stop: tests/unit/record/test_dump.cpp (the stop is
// reached through take_dump's while_stopped observer, not a hook in the binary).
// Through the real binary:
// No hook in loopperf: dumps are started until this test, spin-reading /proc, sees one of the
// target's threads in a ptrace stop (state 't'), and SIGKILLs that dump right then.
test('dump killed with SIGKILL while a thread is seen stopped: the target runs on', async () => {
  const t = await lp.startTarget('idle.js');
  try {
    const port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
    let caught = 0;
    for (let attempt = 0; attempt < 200 && !caught; attempt++) {
      const child = spawn(lp.LOOPPERF, ['dump', '-p', String(t.pid)], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      // Synchronous: a stop lasts a fraction of a millisecond.
      const deadline = Date.now() + 5000;
      while (!caught && Date.now() < deadline && child.exitCode === null) {
        caught = lp.waitForTracedStop(t.pid, 1);
        if (!caught) {
          // child.exitCode is only updated by the event loop: ask the kernel instead.
          try { if (fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1][0] === 'Z') break; } catch { break; }
        }
      }
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(caught, 'a thread of the target was seen in a ptrace stop while a dump ran');
    await assertServing(port);
    assert.ok(['R', 'S'].includes(lp.procState(t.pid)), `state ${lp.procState(t.pid)}`);
    assert.strictEqual(lp.tracerPid(t.pid), 0, 'nobody traces the target any more');
  } finally {
    lp.stopTarget(t);
  }
});

test('dump errors: no such process, bad pid', () => {
  let r = lp.loopperf(['dump', '-p', '4194000']);
  assert.strictEqual(r.status, 3);
  r = lp.loopperf(['dump', '-p', 'x']);
  assert.strictEqual(r.status, 2);
});
