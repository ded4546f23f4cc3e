// Produces an endless variety of distinct stacks: 40 functions calling each other in random order to
// random depths, with new code compiled now and then (fresh JIT addresses). For the memory test.
'use strict';
const fs = require('node:fs');

const fns = [];
for (let i = 0; i < 40; i++) {
  // eslint-disable-next-line no-new-func
  fns.push(new Function('fns', 'depth', `
    let x = ${i};
    for (let k = 0; k < 200; k++) x = (x * 31 + k) % 1000003;
    if (depth > 0) x += fns[(x + depth) % fns.length](fns, depth - 1);
    return x;`));
}
let n = 0;
function round() {
  const until = Date.now() + 20;
  while (Date.now() < until) fns[n++ % fns.length](fns, n % 24);
  if (n % 50 === 0) fns[n % fns.length] = new Function('fns', 'depth', `return depth > 0 ? fns[${n % 7}](fns, depth - 1) + ${n} : ${n};`);
  setImmediate(round);
}
round();
fs.writeFileSync(process.env.READY_FILE, String(process.pid));
