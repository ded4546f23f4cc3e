// Blocks the event loop in fs.readFileSync of a FIFO: the test opens the FIFO's write end and keeps
// it silent, so the read stays blocked until the test writes and closes. FIFO = argv[2].
'use strict';
const fs = require('node:fs');

const fifo = process.argv[2];

function readToken() {
  return fs.readFileSync(fifo);
}

setTimeout(function checkAuth() {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  const data = readToken();
  console.log(`read ${data.length} bytes`);
  const timer = setInterval(() => {}, 1000);
  process.on('SIGTERM', () => { clearInterval(timer); process.exit(0); });
}, 10);
