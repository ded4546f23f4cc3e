// A node in a container, attached from the host (docs/troubleshooting.md, "Containers"): its own PID
// namespace (it is pid 1 there), its own mount namespace with a private /tmp, and no flag. Names,
// phases and loop health must be as on the host: the same program, recorded both ways.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const lp = require('./lib');

const APP = lp.cpuBurner('containerWork') + `
setInterval(() => containerWork(30), 50);
require('fs').writeFileSync(process.env.READY_FILE, String(process.pid));
`;

const canUnshare = process.getuid() === 0 && spawnSync('unshare', ['--help']).status === 0;

// The program's report, recorded for 2 s from the host by pid.
function recordReport(pid, dir, name) {
  const out = path.join(dir, `${name}.pb.gz`);
  const r = lp.loopperf(['record', '-q', '-p', String(pid), '-d', '2s', '-o', out]);
  assert.strictEqual(r.status, 0, r.stderr);
  const rep = lp.loopperf(['report', out, '--format', 'json']);
  assert.strictEqual(rep.status, 0, rep.stderr);
  return JSON.parse(rep.stdout);
}

function mainLoop(report) {
  return report.threads.find((t) => t.role === 'main-loop');
}

test('a node in its own PID and mount namespaces (pid 1 there, a private /tmp): names, phases and loop health as on the host',
  { skip: !canUnshare && 'needs root and unshare(1)' }, async () => {
    // Outside /tmp: the container mounts its own over it.
    const dir = fs.mkdtempSync('/var/tmp/lp-container-');
    const app = path.join(dir, 'app.js');
    fs.writeFileSync(app, APP);
    const procs = [];
    try {
      // On the host, for reference.
      const hostReady = path.join(dir, 'host-ready');
      procs.push(spawn(process.execPath, [app], { env: { ...process.env, READY_FILE: hostReady }, stdio: 'ignore' }));
      await lp.waitForFileAsync(hostReady);
      const host = recordReport(procs[0].pid, dir, 'host');
      procs[0].kill('SIGKILL');  // one at a time: the other would take CPU from it

      const ready = path.join(dir, 'ready');
      const unshare = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', '-c',
        `mount -t tmpfs tmpfs /tmp && exec "${process.execPath}" "${app}"`],
      { env: { ...process.env, READY_FILE: ready }, stdio: 'ignore' });
      procs.push(unshare);
      await lp.waitForFileAsync(ready);
      assert.strictEqual(fs.readFileSync(ready, 'utf8'), '1', 'node is pid 1 in its namespace');
      const hostPid = Number(fs.readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim());
      assert.ok(hostPid > 1);
      assert.notStrictEqual(fs.readlinkSync(`/proc/${hostPid}/ns/pid`), fs.readlinkSync('/proc/self/ns/pid'));
      assert.notStrictEqual(fs.readlinkSync(`/proc/${hostPid}/ns/mnt`), fs.readlinkSync('/proc/self/ns/mnt'));
      const inside = recordReport(hostPid, dir, 'container');

      assert.strictEqual(inside.target.pid, hostPid, 'the host pid is the one reported');
      assert.match(inside.target.node_version, /^v\d+\./);
      for (const [where, r] of [['host', host], ['container', inside]]) {
        const main = mainLoop(r);
        assert.ok(main, `${where}: a main loop`);
        assert.ok((main.phases.timers || 0) > 0.8, `${where}: the work is in phase timers (${JSON.stringify(main.phases)})`);
        assert.ok(r.blockers[0].frames.some((f) => f.name === 'containerWork'), `${where}: containerWork is named`);
        if (lp.loopHealthAvailable()) assert.ok(main.loop && main.loop.iterations_per_sec > 5, `${where}: loop health`);
      }
      const unknown = (r) => mainLoop(r).phases.unknown || 0;
      assert.ok(unknown(inside) <= unknown(host) + 0.02, `phase unknown: ${unknown(inside)} in the container, ${unknown(host)} on the host`);
      const util = (r) => mainLoop(r).loop ? mainLoop(r).loop.utilization : 0;
      assert.ok(Math.abs(util(inside) - util(host)) < 0.15, `utilization ${util(inside)} in the container, ${util(host)} on the host`);
    } finally {
      for (const p of procs) { try { p.kill('SIGKILL'); } catch {} }
      spawnSync('pkill', ['-KILL', '-f', app]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
