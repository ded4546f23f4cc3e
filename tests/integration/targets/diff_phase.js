// The same work scheduled two ways, for `loopperf diff`'s phase test: `immediate` runs each batch
// from setImmediate (libuv's check phase), `timer` from setTimeout(0) (the timers phase). The
// functions and their costs are identical; only the phase changes. Fixed work, then exit.
'use strict';

function crunch(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i * 5 + acc)) % 1e9;
  return acc;
}

const via = process.argv[2] === 'timer' ? 'timer' : 'immediate';
const schedule = via === 'timer' ? (fn) => setTimeout(fn, 0) : (fn) => setImmediate(fn);
let batches = Number(process.env.BATCHES || 400);
let sink = 0;

function batch() {
  // ~3 ms of work per batch, so the scheduling itself is a negligible share.
  sink += crunch(150000);
  if (--batches > 0) schedule(batch);
  else console.log(`${via} ${sink !== 0}`);
}
schedule(batch);
