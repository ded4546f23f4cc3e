// loopperf report on real recordings: the verdict names the user function, the blocking call and
// the phase; --format json is valid JSON with the documented fields.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const lp = require('./lib');

test('readFileSync in a timer: the top blocker is timers › tick › checkToken › readFileSync › uv_fs_read [sync-io]', async () => {
  const t = await lp.startTarget('report_sync_fs.js');
  const out = path.join(t.dir, 'sync.pb.gz');
  try {
    const rec = await lp.loopperfAsync(['record', '-q', '-p', String(t.pid), '-d', '2s', '-o', out]);
    assert.strictEqual(rec.status, 0, rec.stderr);
    const json = lp.loopperf(['report', out, '--format', 'json']);
    assert.strictEqual(json.status, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    const main = r.threads.find((th) => th.role === 'main-loop');
    assert.ok(main, 'a main-loop thread');
    assert.strictEqual(main.tid, t.pid);
    assert.ok(main.phases.timers > 0.8, `timers share ${main.phases.timers}`);
    assert.ok(main.activities['sync-io'] > 0.6, `sync-io share ${main.activities['sync-io']}`);
    const top = r.blockers[0];
    assert.match(top.summary, /^timers › tick \(report_sync_fs\.js:\d+\) › checkToken › readFileSync › uv_fs_read$/);
    assert.strictEqual(top.activity, 'sync-io');
    assert.strictEqual(top.phase, 'timers');
    assert.ok(top.share > 0.3, `top blocker share ${top.share}`);
    assert.ok(top.frames.some((f) => f.name === 'checkToken' && f.kind === 'js'));
    assert.strictEqual(r.target.pid, t.pid);
    assert.match(r.target.node_version, /^v\d+\./);
    assert.ok(r.hints.some((h) => h.kind === 'sync-io'));

    const text = lp.loopperf(['report', out, '--stacks']);
    assert.strictEqual(text.status, 0);
    assert.match(text.stdout, /main loop/);
    assert.match(text.stdout, /timers\s+█+/);
    assert.match(text.stdout, /tick \(report_sync_fs\.js:\d+\) › checkToken › readFileSync › uv_fs_read {2}\[sync-io\]/);
    assert.match(text.stdout, /synchronous I\/O on the event loop/);
  } finally {
    lp.stopTarget(t);
  }
});

test('report errors: missing file, not a profile, unknown thread', () => {
  const dir = lp.tmpdir('report-err');
  const missing = lp.loopperf(['report', path.join(dir, 'none.pb.gz')]);
  assert.strictEqual(missing.status, 6);
  assert.match(missing.stderr, /cannot read/);
  require('node:fs').writeFileSync(path.join(dir, 'junk.pb.gz'), 'this is not a profile');
  const junk = lp.loopperf(['report', path.join(dir, 'junk.pb.gz')]);
  assert.strictEqual(junk.status, 6);
  assert.match(junk.stderr, /hint: /);
});
