// A flood of tiny promise jobs: every timer tick queues 20000 reactions that each do almost nothing,
// so the time goes to V8's microtask machinery (the queue's drain, the reaction builtins) rather than
// to the callbacks' own code: activity microtasks, the flood the hint is for.
'use strict';
const fs = require('node:fs');

let count = 0;
let ticks = 0;
const tiny = (x) => x + 1;

function flood() {
  let p = Promise.resolve(0);
  for (let i = 0; i < 20000; i++) p = p.then(tiny);
  p.then(() => {
    count++;
    if (++ticks === 20 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  });
}

setInterval(flood, 1);
