// A worker_threads Worker with hot JS in its own event loop's check phase (setImmediate inside the
// worker); the main thread only waits. READY_FILE is written once the worker has run a while.
'use strict';
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');

const worker = new Worker(`
  const { parentPort } = require('node:worker_threads');
  let calls = 0, sink = 0;
  function hotWorkerImmediate() {
    const end = Date.now() + 15;
    let acc = 0;
    while (Date.now() < end) for (let i = 0; i < 20000; i++) acc = (acc + Math.sqrt(i * 19 + acc)) % 1e9;
    sink += acc;
    if (++calls === 10) parentPort.postMessage('warm');
    setImmediate(hotWorkerImmediate);
  }
  setImmediate(hotWorkerImmediate);
`, { eval: true });
worker.on('message', () => {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
});
