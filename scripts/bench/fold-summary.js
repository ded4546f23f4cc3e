// Folded stacks -> the functions with the largest inclusive and self shares, and the call tree
// below ROOT (default loopperf::cli::run_record) to DEPTH levels.
// Usage: node fold-summary.js FOLDED [ROOT] [DEPTH] [MIN_PERCENT]
'use strict';
const fs = require('node:fs');
const [file, root = 'loopperf::cli::run_record', depthArg = '3', minArg = '1'] = process.argv.slice(2);
const depth = Number(depthArg), minp = Number(minArg);
const short = (s) => s.replace(/\(.*$/, '').replace(/<.*>/g, '<…>').slice(0, 90);
let total = 0;
const incl = new Map(), self = new Map(), tree = new Map();
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  const i = line.lastIndexOf(' ');
  if (i < 0) continue;
  const n = Number(line.slice(i + 1));
  const frames = line.slice(0, i).split(';').map(short);
  total += n;
  for (const f of new Set(frames)) incl.set(f, (incl.get(f) || 0) + n);
  self.set(frames.at(-1), (self.get(frames.at(-1)) || 0) + n);
  const k = frames.indexOf(short(root));
  if (k >= 0) {
    for (let d = 0; d <= depth; d++) {
      const path = frames.slice(k + 1, k + 1 + d);
      const key = path.join(' > ') + (d > 0 && frames.length <= k + d ? ' [self]' : '');
      tree.set(key || '(all)', (tree.get(key || '(all)') || 0) + n);
      if (frames.length <= k + d) break;
    }
  }
}
const p = (n) => ((100 * n) / total).toFixed(1).padStart(5) + '%';
console.log(`${total} samples`);
console.log(`\ncall tree under ${root}:`);
for (const [k, n] of [...tree].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if ((100 * n) / total >= minp) console.log(p(n), '  '.repeat(k === '(all)' ? 0 : k.split(' > ').length - 1) + (k.split(' > ').at(-1)));
console.log('\nself:');
for (const [k, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(p(n), k);
console.log('\ninclusive:');
for (const [k, n] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(p(n), k);
