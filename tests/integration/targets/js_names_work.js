// JavaScript for the heap namer to find, started with no flags (or with the perf map's flags, to
// compare): a function from a package in node_modules called from a timer, a worker_threads worker
// spinning in its own function, an anonymous function, eval'd code, and, with `stuck`, a named
// function that never returns (for dump). Writes READY_FILE once the worker runs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const mode = process.argv[2] || 'work';
const dir = process.env.DATA_DIR || fs.mkdtempSync('/tmp/lp-jsn-');
const pkg = path.join(dir, 'node_modules', 'slowhash');
fs.mkdirSync(pkg, { recursive: true });
fs.writeFileSync(path.join(pkg, 'index.js'), `'use strict';
function slowHash(s, rounds) {
  let h = 2166136261;
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
module.exports = { slowHash };
`);
const { slowHash } = require(path.join(pkg, 'index.js'));

function stuckForever() {
  let x = 0;
  while (true) x = Math.sqrt(x + 1);  // the line dump must name
}

const evalSpin = eval('(function evalSpin(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; })');
function callWith(f, n) { return f(n); }

function tick() {
  slowHash('the quick brown fox jumps over the lazy dog', 3000);
  evalSpin(200000);
  // An arrow passed as an argument has no name, not even an inferred one.
  callWith((n) => { let s = 0; for (let i = 0; i < n; i++) s += Math.sin(i); return s; }, 50000);
}

const worker = new Worker(`
  const { parentPort } = require('node:worker_threads');
  function workerSpin() {
    let s = 0;
    for (let i = 0; i < 2e6; i++) s += Math.sqrt(i);
    return s;
  }
  parentPort.postMessage('up');
  setInterval(() => workerSpin(), 1);
`, { eval: true });
worker.on('message', () => {
  if (mode === 'stuck') {
    fs.writeFileSync(process.env.READY_FILE, `ready ${process.pid}`);
    stuckForever();
  }
  setInterval(tick, 1);
  fs.writeFileSync(process.env.READY_FILE, `ready ${process.pid}`);
});
