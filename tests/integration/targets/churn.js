// Thread churn: keeps creating short-lived worker_threads (each busy for ~50-300 ms, then gone)
// for as long as it runs; a few long-lived workers spin in churnLongWorker. READY_FILE once started.
'use strict';
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');

const short = `
  const { workerData } = require('node:worker_threads');
  function churnShortWorker(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
  churnShortWorker(workerData.ms);`;
const long = `
  function churnLongWorker() { let x = 0; for (;;) for (let i = 0; i < 1e6; i++) x += i % 7; }
  churnLongWorker();`;
for (let i = 0; i < 2; i++) new Worker(long, { eval: true });
// At most 24 alive at once: on a loaded machine they would otherwise pile up faster than they end
// (hundreds of spinning threads, gigabytes) and starve whatever else runs there.
const kMaxAlive = 24;
let started = 0;
let alive = 0;
function spawnMore() {
  for (let i = 0; i < 4 && alive < kMaxAlive; i++) {
    started++;
    alive++;
    new Worker(short, { eval: true, workerData: { ms: 50 + (started % 6) * 50 } }).on('exit', () => { alive--; });
  }
  setTimeout(spawnMore, 25);
}
spawnMore();
setTimeout(() => fs.writeFileSync(process.env.READY_FILE, String(process.pid)), 200);
