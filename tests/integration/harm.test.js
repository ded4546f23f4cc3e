// Never harm the target, never lose the profile: whatever happens to loopperf (error, Ctrl-C,
// SIGTERM, SIGKILL, a crash) the target keeps running, is not left stopped or traced, keeps its file
// descriptors and signal handling, and still serves.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const lp = require('./lib');

function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject).setTimeout(5000, function () { this.destroy(new Error('no answer')); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The target still serves, its timer ticks, SIGUSR2 still reaches its handler, it is not stopped
// or traced, and it has the file descriptors it had before.
async function assertUnharmed(t, port, before) {
  assert.ok(lp.isAlive(t.pid), 'alive');
  const a = await get(port);
  await sleep(200);
  const b = await get(port);
  assert.ok(b.ticks > a.ticks, `timer keeps firing (${a.ticks} -> ${b.ticks})`);
  process.kill(t.pid, 'SIGUSR2');
  await sleep(100);
  const c = await get(port);
  assert.strictEqual(c.usr2, before.usr2 + 1, 'its signal handler still runs');
  assert.strictEqual(c.fds, before.fds, 'same number of open file descriptors');
  for (const task of fs.readdirSync(`/proc/${t.pid}/task`)) {
    const status = fs.readFileSync(`/proc/${t.pid}/task/${task}/status`, 'utf8');
    assert.match(status, /^State:\s+[RSD]/m, `thread ${task} not stopped`);
    assert.match(status, /^TracerPid:\s+0$/m, `thread ${task} not traced`);
  }
}

// Starts `record` on the idle target, waits until it has been sampling for a while, hits it with
// `how`, and checks the target.
async function hit(how, mode) {
  const t = await lp.startTarget('idle.js');
  const port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
  const out = path.join(t.dir, 'p.pb.gz');
  try {
    const before = await get(port);
    let child;
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '--mode', mode, '-o', out], { onSpawn: (c) => { child = c; } });
    // Wall mode stops the loop thread hundreds of times a second: hit it while that goes on.
    await sleep(700);
    child.kill(how);
    const r = await done;
    if (how === 'SIGKILL' || how === 'SIGSEGV' || how === 'SIGABRT') {
      assert.ok(r.signal === how || r.status >= 128, `loopperf died (${r.signal} ${r.status})`);
    } else {
      assert.strictEqual(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(out), 'the profile is written on Ctrl-C / SIGTERM');
      assert.ok(lp.traces(out).length >= 0);
    }
    await assertUnharmed(t, port, before);
    // No half-written file next to the output whatever happened.
    assert.deepStrictEqual(fs.readdirSync(t.dir).filter((f) => f.startsWith('.p.pb.gz')), []);
  } finally {
    lp.stopTarget(t);
  }
}

for (const mode of ['cpu', 'wall']) {
  for (const how of ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGSEGV']) {
    test(`${mode} mode: loopperf ${how === 'SIGSEGV' ? 'crashing (SIGSEGV)' : `receiving ${how}`} leaves the target serving`, () => hit(how, mode));
  }
}

test('an error mid-recording (output directory removed): target untouched, profile rescued to $TMPDIR', async () => {
  const t = await lp.startTarget('idle.js');
  const port = Number(fs.readFileSync(t.ready, 'utf8').split(' ')[1]);
  const outDir = lp.tmpdir('vanish');
  const rescueDir = lp.tmpdir('rescue');
  try {
    const before = await get(port);
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '1s', '-o', path.join(outDir, 'p.pb.gz')],
      { env: { ...process.env, TMPDIR: rescueDir } });
    await sleep(300);
    fs.rmSync(outDir, { recursive: true, force: true });
    const r = await done;
    assert.strictEqual(r.status, 5, r.stderr);
    assert.match(r.stderr, /the profile was saved to .*loopperf-\d+-\d{8}-\d{6}\.pb\.gz instead/);
    const rescued = fs.readdirSync(rescueDir).filter((f) => f.endsWith('.pb.gz'));
    assert.strictEqual(rescued.length, 1);
    lp.pprof(['-top', path.join(rescueDir, rescued[0])]);  // a valid profile
    await assertUnharmed(t, port, before);
  } finally {
    lp.stopTarget(t);
    fs.rmSync(rescueDir, { recursive: true, force: true });
  }
});

test('a full disk: clear error, no half file, the profile rescued elsewhere', { skip: process.getuid() !== 0 && 'needs root to mount a tmpfs' }, async () => {
  const t = await lp.startTarget('hot.js');
  const tiny = lp.tmpdir('tiny');
  const rescueDir = lp.tmpdir('rescue');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tiny]);
  try {
    // Fill it up: an empty file can still be created there (the preflight passes), a profile cannot.
    try { fs.writeFileSync(path.join(tiny, 'filler'), Buffer.alloc(1 << 20)); } catch {}
    const r = await lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '1s', '-o', path.join(tiny, 'p.pb.gz')],
      { env: { ...process.env, TMPDIR: rescueDir } });
    assert.strictEqual(r.status, 5, r.stderr);
    assert.match(r.stderr, /No space left on device/);
    assert.match(r.stderr, /free some disk space|write elsewhere/);
    assert.deepStrictEqual(fs.readdirSync(tiny), ['filler'], 'no half-written file, no temporary left behind');
    assert.strictEqual(fs.readdirSync(rescueDir).filter((f) => f.endsWith('.pb.gz')).length, 1);
    assert.ok(lp.isAlive(t.pid));
  } finally {
    execFileSync('umount', [tiny]);
    fs.rmSync(tiny, { recursive: true, force: true });
    fs.rmSync(rescueDir, { recursive: true, force: true });
    lp.stopTarget(t);
  }
});

test('a target that exec()s mid-recording yields a valid profile of both programs', async () => {
  const dir = lp.tmpdir('exec');
  const out = path.join(dir, 'exec.pb.gz');
  const script = `i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; exec "${process.execPath}" "${path.join(lp.TARGETS, 'hot.js')}"`;
  const r = await lp.loopperfAsync(['record', '-q', '-d', '2500ms', '-o', out, '--', 'sh', '-c', script],
    { env: { ...process.env, DURATION_MS: '1000' } });
  assert.strictEqual(r.status, 0, r.stderr);
  const top = lp.pprof(['-top', '-nodecount=200', out]);
  assert.match(top, /hotFunction|Builtins_|v8::/, 'the node after exec is in the profile');
  assert.match(top, /dash|sh|libc|\[unknown\]/, 'the shell before exec too');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('thread churn: hundreds of short-lived worker threads; no crash, no fd leak, long-lived ones appear', async () => {
  const t = await lp.startTarget('churn.js', { nodeArgs: ['--perf-basic-prof', '--interpreted-frames-native-stack'] });
  const out = path.join(t.dir, 'churn.pb.gz');
  try {
    let child;
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '4s', '-o', out], { onSpawn: (c) => { child = c; } });
    await sleep(3000);
    // loopperf's own descriptors follow the threads alive now, not every thread ever seen.
    const lpFds = fs.readdirSync(`/proc/${child.pid}/fd`).length;
    const liveThreads = fs.readdirSync(`/proc/${t.pid}/task`).length;
    const r = await done;
    assert.strictEqual(r.status, 0, r.stderr);
    const seen = Number(r.stderr.match(/(\d+) threads/)[1]);
    assert.ok(seen > 60, `threads followed over the recording: ${seen}`);
    assert.ok(lpFds < liveThreads * 8 + 64, `loopperf fds ${lpFds} for ${liveThreads} live threads (${seen} seen)`);
    const tr = lp.traces(out);
    const longTids = new Set(tr.filter((x) => x.frames.includes('churnLongWorker')).map((x) => x.labels.tid));
    // Both spin the whole time; on a loaded 2-core machine one may still run unnamed (interpreted)
    // code at times, so ask for at least one by name and both as worker loops.
    assert.ok(longTids.size >= 1, 'the long-lived workers appear by name');
    const workerLoops = new Set(tr.filter((x) => x.labels.role === 'worker-loop').map((x) => x.labels.tid));
    assert.ok(workerLoops.size >= 2, `worker loop threads in the profile: ${workerLoops.size}`);
    assert.ok(tr.some((x) => x.frames.includes('churnShortWorker')), 'short-lived workers that ran long enough appear');
  } finally {
    lp.stopTarget(t);
  }
});
