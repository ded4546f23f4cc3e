// Launch mode follows the command's process tree (docs/record.md, "Processes the command starts"):
// every program the command runs is recorded from its exec on, through shells, `#!/usr/bin/env
// node` scripts, npm scripts, child_process.fork, cluster and `node --test`; each node process gets
// its own names, loop health and report section; `record -p PID --children` does the same for a
// running process. Real programs, real processes; the profile is read by pprof and by `report`.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const lp = require('./lib');

const NATIVE_DIR = process.env.NATIVE_DIR || path.resolve(path.dirname(lp.LOOPPERF), 'tests/native');

// A named function that burns `ms` of its own CPU time (lib.cpuBurner).
const burner = (name) => lp.cpuBurner(name);

function write(dir, name, text, mode = 0o644) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode });
  return file;
}

function record(args, opts = {}) {
  const r = lp.loopperf(['record', ...args], opts);
  assert.strictEqual(r.status, 0, `record ${args.join(' ')}: ${r.stderr}`);
  return r;
}

// `report --format json`: one report per process, the launched one first.
function reports(file, extra = []) {
  const r = lp.loopperf(['report', file, '--format', 'json', ...extra]);
  assert.strictEqual(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  return j.processes || [j];
}

// The report of the process whose heaviest stacks name `fn`, with that blocker.
function reportNaming(rs, fn) {
  for (const r of rs) {
    const b = r.blockers.find((x) => x.frames.some((f) => f.name === fn));
    if (b) return { r, b };
  }
  return null;
}

function assertNodeProcess(rs, fn, major, what) {
  const hit = reportNaming(rs, fn);
  assert.ok(hit, `${what}: ${fn} is named in one process's report (${rs.map((r) => r.target.cmdline).join(' | ')})`);
  const { r } = hit;
  if (major) assert.match(r.target.node_version, new RegExp(`^v${major}\\.`), `${what}: node ${major}`);
  else assert.match(r.target.node_version, /^v\d+\./, `${what}: recognised as node`);
  const main = r.threads.find((t) => t.role === 'main-loop' && t.tid === r.target.pid);
  assert.ok(main, `${what}: its main thread is its main loop`);
  if (lp.loopHealthAvailable()) assert.ok(main.loop, `${what}: its loop health was measured`);
  return r;
}

for (const major of lp.supportedNodeMajors()) {
  test(`node ${major}: a shell running two node programs, each recorded with its names and loop health`, { skip: lp.nodeSkip(major) }, () => {
    const node = lp.nodeBinary(major);
    const dir = lp.tmpdir('tree');
    try {
      write(dir, 'first.js', burner('firstProgram', 300) + 'firstProgram(300);\n');
      write(dir, 'second.js', burner('secondProgram', 300) + 'secondProgram(300);\n');
      const out = path.join(dir, 'p.pb.gz');
      const r = record(['-q', '-o', out, '--', 'sh', '-c', `"${node}" first.js && "${node}" second.js`], { cwd: dir });
      assert.strictEqual(r.stderr, '');
      const rs = reports(out);
      assert.strictEqual(rs.length, 3, `sh and two node processes: ${rs.map((x) => x.target.cmdline).join(' | ')}`);
      assert.match(rs[0].target.cmdline, /^sh -c /, 'the launched process comes first');
      const a = assertNodeProcess(rs, 'firstProgram', major, 'first.js');
      const b = assertNodeProcess(rs, 'secondProgram', major, 'second.js');
      assert.notStrictEqual(a.target.pid, b.target.pid);
      // Real consumer: pprof sees the pid label, with each node process's samples under its pid, in
      // proportion to their equal work: the second, started right after the first exits, is sampled
      // from within milliseconds of its exec (docs/record.md, "Processes the command starts").
      const pids = lp.tagShares(out).pid;
      const sa = pids[String(a.target.pid)] || 0;
      const sb = pids[String(b.target.pid)] || 0;
      assert.ok(sa + sb > 0.9 && sa / (sa + sb) > 0.3 && sa / (sa + sb) < 0.7, JSON.stringify(pids));
      // The perf maps launch mode turned on are gone, the children's too.
      for (const x of rs) assert.ok(!fs.existsSync(`/tmp/perf-${x.target.pid}.map`), `no /tmp/perf-${x.target.pid}.map left`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a `#!/usr/bin/env node` script is recognised as node in every run, not only when the exec was quick', () => {
  const dir = lp.tmpdir('tree');
  try {
    const script = write(dir, 'tool.js', '#!/usr/bin/env node\n' + burner('toolMain', 200) + 'toolMain(200);\n', 0o755);
    for (let i = 0; i < 6; i++) {
      const out = path.join(dir, `p${i}.pb.gz`);
      record(['-q', '-o', out, '--', script], { cwd: dir, env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` } });
      const rs = reports(out);
      assert.strictEqual(rs.length, 1, `run ${i}: env exec'd node in the same process: one process`);
      assertNodeProcess(rs, 'toolMain', null, `run ${i}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('child_process.fork and cluster workers are each recorded; --no-children records the launched process alone', () => {
  const dir = lp.tmpdir('tree');
  try {
    write(dir, 'forked.js', burner('forkedChild', 300) + 'forkedChild(300);\n');
    write(dir, 'parent.js', burner('parentWork', 200) + `
const { fork } = require('child_process');
const c = fork(__dirname + '/forked.js');
parentWork(200);
`);
    write(dir, 'cluster.js', burner('workerJob', 300) + `
const cluster = require('cluster');
if (cluster.isPrimary) {
  let exited = 0;
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on('exit', () => { if (++exited === 2) process.exit(0); });
} else {
  workerJob(300);
  process.exit(0);
}
`);
    const out = path.join(dir, 'fork.pb.gz');
    record(['-q', '-o', out, '--', process.execPath, 'parent.js'], { cwd: dir });
    let rs = reports(out);
    assert.strictEqual(rs.length, 2);
    assertNodeProcess(rs, 'parentWork', null, 'the parent');
    const child = assertNodeProcess(rs, 'forkedChild', null, 'the forked child');
    // The flags launch mode gave node are not shown as the child's (fork passes them on).
    assert.doesNotMatch(child.target.cmdline, /perf-basic-prof|logfile/);

    const cl = path.join(dir, 'cluster.pb.gz');
    record(['-q', '-o', cl, '--', process.execPath, 'cluster.js'], { cwd: dir });
    rs = reports(cl);
    assert.strictEqual(rs.length, 3, 'the primary and its two workers');
    const workers = rs.filter((r) => reportNaming([r], 'workerJob'));
    assert.strictEqual(workers.length, 2, 'each worker names workerJob in its own report');

    const alone = path.join(dir, 'alone.pb.gz');
    record(['-q', '--no-children', '-o', alone, '--', process.execPath, 'parent.js'], { cwd: dir });
    rs = reports(alone);
    assert.strictEqual(rs.length, 1);
    assert.ok(!reportNaming(rs, 'forkedChild'), 'the forked child is not in the profile');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Samples by process: pid -> { total, loader } (loader: samples inside the dynamic loader, which
// runs first thing after the exec, before the program's main).
function samplesByPid(file) {
  const by = {};
  for (const t of lp.traces(file)) {
    const p = (by[t.labels.pid] ||= { total: 0, loader: 0, frames: new Set() });
    p.total += t.value;
    if (t.frames.includes('_dl_start')) p.loader += t.value;
    for (const f of t.frames) p.frames.add(f);
  }
  return by;
}

test('every process the command starts is sampled from its first instruction: node children in their dynamic loader, processes of a few milliseconds kept', () => {
  const dir = lp.tmpdir('tree');
  try {
    // Six node children, one after another: each one's samples begin in the dynamic loader, which
    // runs before node's main (~10 ms of relocations for node's binary), not when loopperf found it.
    const out = path.join(dir, 'nodes.pb.gz');
    record(['-q', '-o', out, '--', process.execPath, '-e',
      `for (let i = 0; i < 6; i++) require('child_process').execFileSync(process.execPath, ['-e', '0'])`], { cwd: dir });
    const rs = reports(out);
    assert.strictEqual(rs.length, 7, `the parent and six children: ${rs.map((r) => r.target.cmdline).join(' | ')}`);
    const by = samplesByPid(out);
    for (const r of rs.slice(1)) {
      const p = by[String(r.target.pid)];
      assert.ok(p && p.loader >= 1, `child ${r.target.pid}: ${p ? p.loader : 0} of ${p ? p.total : 0} samples in _dl_start`);
    }
    // Nothing of any process was missed at its start, so no start delay is reported (labels.md).
    assert.doesNotMatch(lp.pprof(['-raw', out]), /start_delay_ms/);

    // Twenty programs that live ~3 ms each (2 ms of their own work): each is gone before /proc
    // could be read for it, and is recorded from the kernel's records of its samples and mappings.
    const burst = path.join(NATIVE_DIR, 'brief_burst');
    const short = path.join(dir, 'short.pb.gz');
    record(['-q', '-o', short, '--', 'sh', '-c', `i=0; while [ $i -lt 20 ]; do "${burst}" 2; i=$((i+1)); done`], { cwd: dir });
    const srs = reports(short);
    const bursts = srs.filter((r) => /brief_burst/.test(r.target.cmdline));
    assert.ok(bursts.length >= 18, `brief_burst processes in the profile: ${bursts.length} of 20 (${srs.map((r) => r.target.cmdline).join(' | ')})`);
    const sb = samplesByPid(short);
    // 2 ms of burn_briefly hold at least one sample at any period drawn (at most 1.5 ms); a stack
    // through clock_gettime's vDSO may not unwind to it.
    const named = bursts.filter((r) => sb[String(r.target.pid)]?.frames.has('burn_briefly')).length;
    assert.ok(named >= 10, `${named} of them name burn_briefly`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run and node --test: the node processes they start are recorded, with their names', () => {
  const dir = lp.tmpdir('tree');
  try {
    write(dir, 'work.js', burner('scriptWork', 300) + 'scriptWork(300);\n');
    write(dir, 'package.json', JSON.stringify({ name: 'tree-test', version: '1.0.0', scripts: { work: 'node work.js' } }));
    fs.mkdirSync(path.join(dir, 'test'));
    write(dir, 'test/a.test.js', burner('testedCode', 300) + `require('node:test')('t', () => { testedCode(300); });\n`);
    // NODE_TEST_CONTEXT (set by the runner of this very test) would make the inner `node --test`
    // run its files in its own process.
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, npm_config_update_notifier: 'false' };
    delete env.NODE_TEST_CONTEXT;
    const npm = path.join(dir, 'npm.pb.gz');
    record(['-q', '-o', npm, '--', 'npm', 'run', '--silent', 'work'], { cwd: dir, env });
    let rs = reports(npm);
    assert.ok(rs.length >= 2, `npm and the script's node (${rs.map((r) => r.target.cmdline).join(' | ')})`);
    assertNodeProcess(rs, 'scriptWork', null, 'the npm script');

    const nt = path.join(dir, 'test.pb.gz');
    record(['-q', '-o', nt, '--', process.execPath, '--test', 'test/'], { cwd: dir, env });
    rs = reports(nt);
    assert.ok(rs.length >= 2, 'the runner and the test file');
    assertNodeProcess(rs, 'testedCode', null, 'the test file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('record -p PID --children: a running child and one started later, each from its own start', async () => {
  const dir = lp.tmpdir('tree');
  const ready = path.join(dir, 'ready');
  write(dir, 'spin.js', burner('childSpin', 1) + `
const until = Date.now() + Number(process.argv[2]);
while (Date.now() < until) childSpin(20);
`);
  write(dir, 'server.js', `
const { fork } = require('child_process');
fork(__dirname + '/spin.js', ['6000']);
setInterval(() => {}, 100);
process.on('SIGUSR2', () => fork(__dirname + '/spin.js', ['800']));
require('fs').writeFileSync(${JSON.stringify(ready)}, 'ok');
`);
  const server = spawn(process.execPath, [path.join(dir, 'server.js')], { stdio: 'ignore' });
  try {
    await lp.waitForFileAsync(ready);
    const out = path.join(dir, 'p.pb.gz');
    let child;
    const done = lp.loopperfAsync(['record', '-q', '-p', String(server.pid), '--children', '-d', '2500ms', '-o', out],
      { onSpawn: (c) => { child = c; } });
    await lp.waitForSampling(child.pid);
    await new Promise((r) => setTimeout(r, 500));
    server.kill('SIGUSR2');
    const r = await lp.settled(done, child, 'record --children');
    assert.strictEqual(r.status, 0, r.stderr);
    const rs = reports(out);
    assert.strictEqual(rs.length, 3, `the server, its running child, the child it started later: ${rs.map((x) => x.target.cmdline).join(' | ')}`);
    assert.strictEqual(rs[0].target.pid, server.pid);
    const spins = rs.filter((x) => reportNaming([x], 'childSpin'));
    assert.strictEqual(spins.length, 2, `both children name childSpin: ${JSON.stringify(rs.map((x) => [x.target.cmdline, x.recording, x.blockers.slice(0, 3).map((b) => b.summary)]))}`);
    const [early, late] = spins.sort((x, y) => x.recording.time_nanos - y.recording.time_nanos);
    assert.ok(late.recording.time_nanos - early.recording.time_nanos >= 300e6, 'the later child is recorded from its own start');
    assert.ok(late.recording.duration_nanos < early.recording.duration_nanos, 'and for its own time');
    // The running tree's threads carry inherited sampling events: the later child is sampled from
    // its first instruction (its dynamic loader), with no start delay to report.
    const lateSamples = samplesByPid(out)[String(late.target.pid)];
    assert.ok(lateSamples && lateSamples.loader >= 1, `the later child's loader: ${JSON.stringify(lateSamples && { loader: lateSamples.loader, total: lateSamples.total })}`);
    assert.doesNotMatch(lp.pprof(['-raw', out]), /start_delay_ms/);
    // Without --children, attach mode records the process it was given, as before.
    const solo = lp.loopperf(['record', '-q', '-p', String(server.pid), '-d', '300ms', '-o', path.join(dir, 's.pb.gz')]);
    assert.strictEqual(solo.status, 0, solo.stderr);
    assert.strictEqual(reports(path.join(dir, 's.pb.gz')).length, 1);
    // dump --children: the server, then its running child, each stopped one thread at a time, the
    // child's loop named where it spins.
    const dump = lp.loopperf(['dump', '-p', String(server.pid), '--children', '--json']);
    assert.strictEqual(dump.status, 0, dump.stderr);
    const dumps = JSON.parse(dump.stdout).processes;
    assert.ok(dumps.length >= 2, `the server and its running child: ${dumps.map((d) => d.cmdline).join(' | ')}`);
    assert.strictEqual(dumps[0].pid, server.pid);
    const spinning = dumps.slice(1).find((d) => /spin\.js/.test(d.cmdline));
    assert.ok(spinning, 'the child is dumped');
    const main = spinning.threads.find((t) => t.tid === spinning.pid);
    assert.ok(main.frames.some((f) => f.name === 'childSpin'), JSON.stringify(main.frames.map((f) => f.name)));
    const text = lp.loopperf(['dump', '-p', String(server.pid), '--children']);
    assert.strictEqual(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^pid ${server.pid} `));
    assert.match(text.stdout, new RegExp(`\\n\\npid ${spinning.pid} `));
  } finally {
    // Its children first: they would outlive it.
    let kids = '';
    try { kids = fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8'); } catch {}
    for (const pid of kids.trim().split(/\s+/).filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
    server.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('report --pid and convert --pid take one process; a pid the profile lacks is a usage error naming the ones it has', () => {
  const dir = lp.tmpdir('tree');
  try {
    // A process started right after its sibling exited, recorded from within milliseconds of its exec.
    write(dir, 'a.js', burner('alpha', 300) + 'alpha(300);\n');
    write(dir, 'b.js', burner('beta', 300) + 'beta(300);\n');
    const out = path.join(dir, 'p.pb.gz');
    record(['-q', '-o', out, '--', 'sh', '-c', `"${process.execPath}" a.js; "${process.execPath}" b.js`], { cwd: dir });
    const rs = reports(out);
    const named = reportNaming(rs, 'beta');
    assert.ok(named, `no process names beta: ${JSON.stringify(rs.map((x) => [x.target.pid, x.target.cmdline, x.recording.samples, x.blockers.slice(0, 3).map((b) => b.summary)]))}`);
    const beta = named.r;
    const one = reports(out, ['--pid', String(beta.target.pid)]);
    assert.strictEqual(one.length, 1);
    assert.strictEqual(one[0].target.pid, beta.target.pid);
    assert.strictEqual(one[0].recording.samples, beta.recording.samples);
    assert.ok(!reportNaming(one, 'alpha'));
    const text = lp.loopperf(['report', out]);
    assert.strictEqual(text.status, 0, text.stderr);
    assert.strictEqual((text.stdout.match(/^process \d of 3$/gm) || []).length, 3, 'one text section per process');

    const folded = path.join(dir, 'beta.folded');
    const c = lp.loopperf(['convert', out, '--pid', String(beta.target.pid), '-o', folded]);
    assert.strictEqual(c.status, 0, c.stderr);
    const lines = fs.readFileSync(folded, 'utf8');
    assert.match(lines, /beta/);
    assert.doesNotMatch(lines, /alpha/);

    for (const cmd of [['report', out, '--pid', '1'], ['convert', out, '--pid', '1', '-o', path.join(dir, 'x.html')]]) {
      const bad = lp.loopperf(cmd);
      assert.strictEqual(bad.status, 2, `${cmd[0]}: usage error`);
      assert.match(bad.stderr, /no process 1/);
      assert.match(bad.stderr, new RegExp(String(beta.target.pid)), 'the hint lists the pids it has');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a renamed node binary is node by what it contains: names, phases and loop health, and it is never run with --version', () => {
  const dir = lp.tmpdir('tree');
  try {
    const renamed = path.join(dir, 'myservice');
    fs.copyFileSync(process.execPath, renamed);
    fs.chmodSync(renamed, 0o755);
    write(dir, 'svc.js', burner('serviceWork', 300) + 'serviceWork(300);\n');
    const out = path.join(dir, 'p.pb.gz');
    record(['-q', '-o', out, '--', renamed, 'svc.js'], { cwd: dir });
    const rs = reports(out);
    assert.strictEqual(rs.length, 1);
    const hit = reportNaming(rs, 'serviceWork');
    assert.ok(hit, 'its JavaScript is named');
    const main = hit.r.threads.find((t) => t.role === 'main-loop');
    assert.ok(main, 'its main thread is a main loop');
    if (lp.loopHealthAvailable()) assert.ok(main.loop, 'with loop health');
    assert.ok(Object.keys(main.phases).some((p) => p !== 'unknown'), 'phases are found');
    // A binary not named node may take --version as its own argument: it is not asked.
    assert.strictEqual(hit.r.target.node_version, '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
