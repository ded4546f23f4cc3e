// Hot JS in the timers phase: the timer callback itself is the hot function (setInterval), so its
// frame sits right under listOnTimeout. Writes READY_FILE after a few callbacks; runs until killed.
'use strict';
const fs = require('node:fs');

let calls = 0;
let sink = 0;
function hotTimersWork() {
  const end = Date.now() + 15;
  let acc = 0;
  while (Date.now() < end) for (let i = 0; i < 20000; i++) acc = (acc + Math.sqrt(i * 7 + acc)) % 1e9;
  sink += acc;
  if (++calls === 10 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

setInterval(hotTimersWork, 1);
