// A timer callback that reads a 4 MB file synchronously (as a Buffer) every time: the loop is
// blocked in uv_fs_read. Writes READY_FILE once warmed up; runs until killed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// In the working directory the test gives us (removed with it, even when we are SIGKILLed).
const file = path.join(process.cwd(), 'blob.bin');
fs.writeFileSync(file, Buffer.alloc(4 << 20, 7));

function checkToken() {
  const data = fs.readFileSync(file);
  return data[123];
}

let rounds = 0;
function tick() {
  const until = Date.now() + 20;
  while (Date.now() < until) checkToken();
  if (++rounds === 10 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  setTimeout(tick, 1);
}
tick();
process.on('exit', () => fs.rmSync(file, { force: true }));
process.on('SIGTERM', () => process.exit(0));
