// Garbage-collector pressure on the main thread: a large retained array whose slots are replaced by
// fresh objects all the time, so most new objects survive a scavenge (copying, promotion) and the
// old generation keeps growing with garbage (mark-compact). Driven from a timer.
'use strict';
const fs = require('node:fs');

const kept = new Array(1 << 20).fill(null);
let ticks = 0;
let seed = 1;
function hotGcChurn() {
  const end = Date.now() + 15;
  while (Date.now() < end) {
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      kept[seed & (kept.length - 1)] = { id: seed, a: [seed], b: { c: [seed, seed] }, d: [] };
    }
  }
  if (++ticks === 10 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

setInterval(hotGcChurn, 1);
