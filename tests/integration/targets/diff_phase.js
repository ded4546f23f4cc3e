// The same work scheduled two ways, for `loopperf diff`'s phase test: `immediate` runs each batch
// from setImmediate (libuv's check phase), `timer` from setTimeout(0) (the timers phase). The
// functions and their costs are identical; only the phase changes. Runs until killed; READY_FILE
// is written once the work is warm, so a recording attached then sees the steady state only (node's
// start-up, whose cost varies by tens of ms from run to run, is not in it).
'use strict';
const fs = require('node:fs');

function crunch(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i * 5 + acc)) % 1e9;
  return acc;
}

const via = process.argv[2] === 'timer' ? 'timer' : 'immediate';
const schedule = via === 'timer' ? (fn) => setTimeout(fn, 0) : (fn) => setImmediate(fn);
let done = 0;
let sink = 0;

function batch() {
  // ~12 ms of work per batch, so the scheduling itself stays under 1% of the CPU: a timer costs
  // more than an immediate (processTimers, listOnTimeout), and with 3 ms batches that difference
  // alone moved crunch's share by 1-4 points.
  sink += crunch(600000);
  if (++done === 20 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${sink !== 0}\n`);
  schedule(batch);
}
schedule(batch);
