// loopperf's own memory stays flat over a long, fast recording of a target that keeps producing new
// distinct stacks: the stack table is bounded (--max-stacks), overflow is counted, nothing else grows.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const rssMb = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Documented in docs/record.md ("Limits"): after the first minute, RSS grows by less than this.
const GROWTH_BOUND_MB = 16;

test('a 3-minute recording at 4999 Hz: RSS flat after the first minute, stacks bounded', { timeout: 300000 }, async () => {
  const t = await lp.startTarget('stack_churn.js');
  const out = path.join(t.dir, 'mem.pb.gz');
  try {
    let child;
    const done = lp.loopperfAsync(['record', '-p', String(t.pid), '-d', '180s', '-F', '4999', '--max-stacks', '20000', '-o', out],
      { onSpawn: (c) => { child = c; } });
    await sleep(60000);
    const atOneMinute = rssMb(child.pid);
    const samples = [];
    for (let i = 0; i < 11; i++) {
      await sleep(10000);
      samples.push(rssMb(child.pid));
    }
    const r = await done;
    assert.strictEqual(r.status, 0, r.stderr);
    const peak = Math.max(...samples);
    assert.ok(peak - atOneMinute < GROWTH_BOUND_MB, `RSS ${atOneMinute.toFixed(1)} MB at 1 min, peak ${peak.toFixed(1)} MB later (${samples.map((x) => x.toFixed(0)).join(' ')})`);
    const raw = lp.pprof(['-raw', out]);
    assert.match(raw, /loopperf:stacks_overflowed=[1-9]\d*/, 'the stack limit was reached and the overflow counted');
    assert.match(r.stderr, /samples had new stacks after the distinct-stack limit/);
  } finally {
    lp.stopTarget(t);
  }
});
