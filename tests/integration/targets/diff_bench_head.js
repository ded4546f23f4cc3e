// The head version of diff_bench_base.js (see there): identical but for one line, scoreRecords does
// twice the work per call (40000 iterations instead of 20000): the regression diff must find.
// The steps are called through one call site with five different targets: a megamorphic call that
// V8 does not inline, so every function keeps its own frame in every run (inlining that differs
// between runs would move samples between names and look like a change). Every body runs at one
// speed from run to run (see diff_bench_base.js).
'use strict';

function parseRecords(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = (acc + Math.sqrt(i * 3 + acc)) % 1e9;
  return acc;
}

function scoreRecords(n) {
  let acc = 1;
  for (let i = 0; i < n; i++) acc = (acc * 1.0000001 + i) % 1e7;
  return acc;
}

function renderRecords(n) {
  let s = 0;
  for (let i = 0; i < n; i++) s = (Math.imul(s, 31) + (i & 1023)) | 0;
  return s;
}

function hashRecords(n) {
  let h = 2166136261;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (i & 255), 16777619) >>> 0;
  return h;
}

function sortRecords(n) {
  let x = 7;
  for (let i = 0; i < n; i++) x = (x * 31 + (i ^ (x >>> 3))) % 1000003;
  return x;
}

const steps = [[parseRecords, 20000], [scoreRecords, 40000], [renderRecords, 90000], [hashRecords, 60000], [sortRecords, 10000]];

function main(rounds) {
  let sink = 0;
  for (let r = 0; r < rounds; r++) for (const [fn, n] of steps) sink += fn(n);
  return sink;
}

// No console.log: node sets up the console on first use, 10-35 ms of CPU that varied from run to
// run (a false alarm on "log (node:internal/console/constructor)" once). The exit status uses the
// result, so that V8 cannot drop the work.
process.exitCode = main(Number(process.env.ROUNDS || 1200)) === -1 ? 1 : 0;
