// Starts busy worker_threads only after START_FILE appears, so a recorder attached before must
// pick up threads born during the recording. Writes READY_FILE at start, and WORKERS_FILE with the
// workers' thread ids... (node does not expose tids, so the test finds them via /proc).
'use strict';
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');

fs.writeFileSync(process.env.READY_FILE, String(process.pid));
const timer = setInterval(() => {
  if (!fs.existsSync(process.env.START_FILE)) return;
  clearInterval(timer);
  for (let i = 0; i < 2; i++) {
    new Worker(`
      function workerSpin() { let x = 0; for (;;) { for (let i = 0; i < 1e6; i++) x += i % 3; } }
      workerSpin();`, { eval: true });
  }
  fs.writeFileSync(process.env.START_FILE + '.started', '1');
}, 5);
