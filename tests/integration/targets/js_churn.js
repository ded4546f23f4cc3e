// Code churn for the heap namer: new functions made by `new Function` all the time, a hot function
// that is optimized and then deoptimized by a change of argument types, and allocation enough for
// frequent scavenges (objects move between a sample and its read). READY_FILE once running.
'use strict';
const fs = require('node:fs');

let made = 0;
function makeFunction() {
  made++;
  // A distinct body each time: new code, new SharedFunctionInfo, soon garbage.
  return new Function('n', `let s = ${made}; for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003; return s;`);
}

function polymorphic(x) {
  let s = 0;
  for (let i = 0; i < 2000; i++) s += x.a + i;
  return s;
}

function allocate() {
  const garbage = [];
  for (let i = 0; i < 2000; i++) garbage.push({ i, s: 'x' + i, arr: [i, i + 1] });
  return garbage.length;
}

let round = 0;
function churnRound() {
  round++;
  makeFunction()(3000);
  // Monomorphic for a while (optimized), then a new shape (deoptimized), and back.
  polymorphic(round % 50 < 40 ? { a: 1 } : { b: 2, a: 'x' });
  allocate();
}

setInterval(() => { for (let i = 0; i < 20; i++) churnRound(); }, 1);
setTimeout(() => fs.writeFileSync(process.env.READY_FILE, String(process.pid)), 300);
