// Stacks that cannot be walked to uv_run, in the timers phase: pbkdf2Sync with SHA-512 spends most
// of its time in OpenSSL's sha512_block_data_order_avx2, which keeps the address its frame returns
// through below the stack pointer, where no sampled stack copy reaches. Between two whole samples of
// the same busy period in one phase, loopperf gives such samples that phase (loop/cut_phases.h).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');

let ticks = 0;
let sink = 0;
function hotCutStacks() {
  const end = Date.now() + 150;  // long busy periods: few samples at their edges
  while (Date.now() < end) sink += crypto.pbkdf2Sync('secret', 'salt', 2000, 64, 'sha512')[0];
  if (++ticks === 2 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

setInterval(hotCutStacks, 1);
