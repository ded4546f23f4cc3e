// A loop that is busy most of the time: a 10 ms timer spins 8 ms of each period, so wall mode stops
// the thread while it runs (a stop lasts ~1 ms) nearly every sample. READY_FILE gets the pid.
'use strict';
const fs = require('node:fs');

setInterval(() => {
  const until = Date.now() + 8;
  while (Date.now() < until);
}, 10);
if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
