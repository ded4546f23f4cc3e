// Synchronous file I/O on the main thread, in the timers phase: a timer callback that reads a file
// with fs.readFileSync (no encoding: open/fstat/read/close through uv_fs_* without a callback).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// In the working directory (the test's temporary directory, removed with the target).
const file = path.join(process.cwd(), 'phase_sync_fs.data');
fs.writeFileSync(file, Buffer.alloc(1 << 20, 7));

let ticks = 0;
let sink = 0;
function hotSyncRead() {
  const end = Date.now() + 15;
  while (Date.now() < end) sink += fs.readFileSync(file).length;
  if (++ticks === 10 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

setInterval(hotSyncRead, 1);
