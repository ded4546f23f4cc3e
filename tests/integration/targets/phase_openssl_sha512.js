// Stacks the kernel's frame-pointer chain and plain CFI cannot walk, in the timers phase: pbkdf2Sync
// with SHA-512 spends most of its time in OpenSSL's sha512_block_data_order_avx2 (built into node),
// which holds data in rbp and keeps the stack pointer its CFI needs below the stack pointer, where no
// sampled stack copy reaches (unwind/hybrid.cpp, step_past_red_zone).
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
