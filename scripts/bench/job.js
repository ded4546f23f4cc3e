// A fixed, CPU-bound node job for scripts/bench.sh: JavaScript, JSON, crypto and zlib on the main
// thread, a fixed amount of work (no time limit), so the only thing that changes its duration is
// what runs beside it. Prints one JSON line on stdout: the wall and CPU time of the work itself
// (node's start-up and module loading are not counted).
// Usage: node job.js [ROUNDS]   (default 40; one round is ~40 ms here)
'use strict';
const crypto = require('node:crypto');
const zlib = require('node:zlib');

const rounds = Number(process.argv[2] || 40);

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

let sink = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) sink += jsWork(r) + jsonWork(r) + cryptoWork(r) + zlibWork();
const t1 = process.hrtime.bigint();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ wall_ms: Number(t1 - t0) / 1e6, cpu_ms: (cpu.user + cpu.system) / 1000, rounds, sink: sink > 0 }) + '\n');
