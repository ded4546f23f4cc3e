// Hot JS in the check phase: a setImmediate callback that re-queues itself.
'use strict';
const fs = require('node:fs');

let calls = 0;
let sink = 0;
function hotCheckWork() {
  const end = Date.now() + 15;
  let acc = 0;
  while (Date.now() < end) for (let i = 0; i < 20000; i++) acc = (acc + Math.sqrt(i * 3 + acc)) % 1e9;
  sink += acc;
  if (++calls === 10 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  setImmediate(hotCheckWork);
}

setImmediate(hotCheckWork);
