// A node program with one known hot JS function on the main thread. Writes READY_FILE once the
// hot loop runs; runs until killed (or for DURATION_MS when set).
'use strict';
const fs = require('node:fs');

function hotFunction(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i * 7 + acc)) % 1e9;
  return acc;
}

function coldFunction() {
  return JSON.stringify({ t: Date.now() }).length;
}

let ready = false;
const stopAt = process.env.DURATION_MS ? Date.now() + Number(process.env.DURATION_MS) : Infinity;
let sink = 0;
function tick() {
  const until = Date.now() + 20;
  while (Date.now() < until) sink += hotFunction(20000);
  sink += coldFunction();
  if (!ready && process.env.READY_FILE) {
    fs.writeFileSync(process.env.READY_FILE, String(process.pid));
    ready = true;
  }
  if (Date.now() < stopAt) setImmediate(tick);
  else console.log(`done ${sink > 0}`);
}
tick();
