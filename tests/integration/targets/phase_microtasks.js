// Hot JS in promise jobs: every timer tick starts a chain of promise reactions, each doing a slice
// of the work. The jobs run from the microtask checkpoint after the timer callback
// (listOnTimeout -> runNextTicks -> runMicrotasks / InternalCallbackScope::Close ->
// MicrotaskQueue::PerformCheckpoint -> RunMicrotasks), i.e. nested in the timers phase.
'use strict';
const fs = require('node:fs');

let jobs = 0;
let sink = 0;
function hotMicrotaskWork(x) {
  let acc = x;
  for (let i = 0; i < 40000; i++) acc = (acc + Math.sqrt(i * 17 + acc)) % 1e9;
  sink += acc;
  if (++jobs === 500 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  return acc;
}

function startChain() {
  let p = Promise.resolve(1);
  for (let i = 0; i < 100; i++) p = p.then(hotMicrotaskWork);
  return p;
}

setInterval(startChain, 1);
