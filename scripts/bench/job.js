// A CPU-bound node job for scripts/bench.sh's slowdown section: JavaScript, JSON, crypto and zlib
// on the main thread, in rounds of fixed work (~35 ms here), forever. Every round's start and end
// (CLOCK_MONOTONIC ns, the clock process.hrtime and the bench share) and the process CPU it took
// are appended to LOG, so the bench can compare rounds run while a profiler was attached with the
// rounds just before and after, in the same process (same heap layout, same JIT state).
// Usage: node job.js LOG READY   (READY is written once 60 warm-up rounds are done)
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

// Plain JavaScript: object churn, closures, string building, a small sort.
function jsWork(seed) {
  const items = [];
  for (let i = 0; i < 3000; i++) items.push({ id: i, name: `item-${(i * 7919 + seed) % 10007}`, v: Math.sin(i + seed) });
  items.sort((a, b) => a.v - b.v);
  let acc = 0;
  for (const it of items) acc += it.name.length * it.v;
  const words = items.slice(0, 500).map((it) => it.name.toUpperCase()).join(' ');
  return acc + words.length;
}

// JSON: a document of a few hundred KB, stringified and parsed back.
function jsonWork(seed) {
  const doc = { seed, orders: Array.from({ length: 800 }, (_, i) => ({ id: i, user: `u${i % 97}`, lines: [i, i * 2, i * 3], note: 'x'.repeat(i % 40) })) };
  const text = JSON.stringify(doc);
  return JSON.parse(text).orders.length + text.length;
}

// crypto: hashing and a short key derivation.
function cryptoWork(seed) {
  let h = '';
  for (let i = 0; i < 200; i++) h = crypto.createHash('sha256').update(`${seed}:${i}:${h}`).digest('hex');
  return crypto.pbkdf2Sync(h, 'salt', 1500, 32, 'sha256').length;
}

// zlib: compress and decompress a semi-compressible buffer.
const zinput = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i % 500} value ${(i * 31) % 977}\n`).join(''));
function zlibWork() {
  const z = zlib.deflateSync(zinput, { level: 6 });
  return zlib.inflateSync(z).length + zlib.gzipSync(zinput.subarray(0, 100000)).length;
}

const [log, ready] = process.argv.slice(2);
if (!log || !ready) { console.error('usage: node job.js LOG READY'); process.exit(2); }
const fd = fs.openSync(log, 'w');
let sink = 0, round = 0;
// Ten rounds per macrotask: the loop still turns between them (signals, the profiler's attach).
function batch() {
  const lines = [];
  for (let k = 0; k < 10; k++, round++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    sink += jsWork(round) + jsonWork(round) + cryptoWork(round) + zlibWork();
    const t1 = process.hrtime.bigint();
    const c = process.cpuUsage(c0);
    lines.push(`${t0} ${t1} ${c.user + c.system}\n`);
  }
  fs.writeSync(fd, lines.join(''));
  if (round >= 60 && !fs.existsSync(ready)) fs.writeFileSync(ready, `${process.pid} ${sink > 0}\n`);
  setImmediate(batch);
}
batch();
