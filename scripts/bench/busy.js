// N busy threads for scripts/bench.sh: node worker_threads that each spin on JavaScript (a
// recursive function, so stacks are a few dozen frames deep), JSON and string work until the
// process is killed. The main thread stays idle in its event loop. Writes "PID" to $READY_FILE
// once every worker runs.
// Usage: node busy.js N
'use strict';
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const fs = require('node:fs');

if (isMainThread) {
  const n = Number(process.argv[2] || 1);
  let ready = 0;
  for (let i = 0; i < n; i++) {
    const w = new Worker(__filename);
    w.once('message', () => {
      if (++ready === n && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
    });
  }
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  function fib(k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }
  function step(i) {
    const doc = JSON.stringify({ i, list: [i, i + 1, i + 2], name: `n${i}` });
    return fib(18) + JSON.parse(doc).list.length + doc.toUpperCase().length;
  }
  parentPort.postMessage('up');
  let sink = 0;
  for (let i = 0; ; i++) sink = (sink + step(i)) | 0;
}
