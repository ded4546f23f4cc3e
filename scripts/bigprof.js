// Writes a large synthetic pprof file (plain protobuf, not gzipped) for measuring how report,
// convert and diff cope with size (docs/hardening.md): N samples of 3-8 random frames out of 2,000
// functions, with loopperf's labels (thread, phase, activity, tid), nearly all distinct.
// usage: node scripts/bigprof.js OUT N      (4500000 samples: ~205 MB)
'use strict';
const fs = require('fs');
const [out, nArg] = process.argv.slice(2);
const N = Number(nArg || 1e6);
function varint(arr, v) { v = BigInt(v); if (v < 0n) v += 1n << 64n; while (v >= 0x80n) { arr.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; } arr.push(Number(v)); }
function vi(arr, v) { if (v < 0 || v > 2**31) return varint(arr, v); while (v >= 0x80) { arr.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); } arr.push(v); }
function field(arr, f, bytes) { vi(arr, (f << 3) | 2); vi(arr, bytes.length); for (const b of bytes) arr.push(b); }
function num(arr, f, v) { vi(arr, f << 3); vi(arr, v); }
const strings = [''];
const sidx = new Map([['', 0]]);
const S = (s) => { if (!sidx.has(s)) { sidx.set(s, strings.length); strings.push(s); } return sidx.get(s); };
const chunks = [];
let buf = [];
const flush = () => { chunks.push(Buffer.from(buf)); buf = []; };
// sample types
for (const [t, u] of [['samples', 'count'], ['cpu', 'nanoseconds']]) { const m = []; num(m, 1, S(t)); num(m, 2, S(u)); field(buf, 1, m); }
const NF = 2000;
const rnd = (n) => Math.floor(Math.random() * n);
const phases = ['timers', 'poll', 'check', 'outside-loop', 'close'];
const acts = ['js', 'native', 'gc', 'sync-io'];
for (let i = 0; i < N; i++) {
  const m = [];
  const depth = 3 + rnd(6);
  const locs = []; for (let d = 0; d < depth; d++) vi(locs, 1 + rnd(NF));
  field(m, 1, locs);
  const vals = []; vi(vals, 1); vi(vals, 1001001); field(m, 2, vals);
  const tid = 1000 + rnd(8);
  for (const [k, v] of [['thread', 'node'], ['phase', phases[rnd(5)]], ['activity', acts[rnd(4)]]]) { const l = []; num(l, 1, S(k)); num(l, 2, S(v)); field(m, 3, l); }
  { const l = []; num(l, 1, S('tid')); num(l, 3, tid); field(m, 3, l); }
  field(buf, 2, m);
  if (buf.length > 1 << 20) flush();
}
for (let f = 1; f <= NF; f++) { const m = []; num(m, 1, f); num(m, 2, S('fn' + f)); num(m, 4, S('file' + (f % 50) + '.js')); field(buf, 5, m); }
for (let l = 1; l <= NF; l++) { const m = []; num(m, 1, l); num(m, 3, 0x1000 + l * 16); const ln = []; num(ln, 1, l); num(ln, 2, l % 300); field(m, 4, ln); field(buf, 4, m); }
flush();
for (const s of strings) { const b = Buffer.from(s); const m = []; vi(m, (6 << 3) | 2); vi(m, b.length); for (const x of b) m.push(x); buf.push(...m); }
{ const m = []; num(m, 1, S('cpu')); num(m, 2, S('nanoseconds')); field(buf, 11, m); }
num(buf, 12, 1001001);
flush();
fs.writeFileSync(out, Buffer.concat(chunks));
