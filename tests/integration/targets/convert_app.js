// A node program whose time splits over libuv phases and two loop threads, for the format tests:
// timerWork runs in the timers phase, pollWork in poll (fs callbacks), checkWork in check
// (setImmediate), and a worker thread spins in workerSpin. Writes READY_FILE once everything runs;
// stops after DURATION_MS (default: runs until killed).
'use strict';
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');

function burn(ms) {
  let acc = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) for (let i = 0; i < 2000; i++) acc = (acc + Math.sqrt(i * 3 + acc)) % 1e9;
  return acc;
}
function timerWork() { return burn(4); }
function pollWork() { return burn(3); }
function checkWork() { return burn(6); }

const stopAt = process.env.DURATION_MS ? Date.now() + Number(process.env.DURATION_MS) : Infinity;
const worker = new Worker(`
  const { parentPort } = require('node:worker_threads');
  function workerSpin() { let x = 0; for (let i = 0; i < 3e5; i++) x += Math.sqrt(i) % 3; return x; }
  let sink = 0;
  (function loop() { sink += workerSpin(); setImmediate(loop); })();
  parentPort.postMessage('up');`, { eval: true });

let sink = 0;
const timer = setInterval(() => { sink += timerWork(); }, 10);
function readLoop() {
  fs.readFile(__filename, () => {
    sink += pollWork();
    if (Date.now() < stopAt) readLoop();
  });
}
function check() {
  sink += checkWork();
  if (Date.now() < stopAt) setTimeout(() => setImmediate(check), 5);
}
worker.once('message', () => {
  readLoop();
  setImmediate(check);
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
});
const end = setInterval(() => {
  if (Date.now() < stopAt) return;
  clearInterval(end);
  clearInterval(timer);
  worker.terminate().then(() => console.log(`done ${sink > 0}`));
}, 20);
