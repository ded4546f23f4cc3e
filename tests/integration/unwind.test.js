// DWARF unwinding: a C program and its shared library built with -O2 -fomit-frame-pointer
// (tests/native/unwind_chain) can only be walked with CFI.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const lp = require('./lib');

// chain_leaf samples / (999 Hz x the program's CPU seconds) within LEAF_TOLERANCE: measured 1.00-1.09
// in six recordings (two runs x three modes) on the loaded 2-core VM.
const LEAF_TOLERANCE = 0.25;
const CHAIN = ['chain_leaf', 'chain_lib_inner', 'chain_lib_outer', 'chain_prog_b', 'chain_prog_a', 'main'];
const PROG = path.join(process.env.NATIVE_DIR || path.resolve(path.dirname(lp.LOOPPERF), 'tests/native'), 'chain_prog');

// Share of the samples whose stack holds the whole chain from the leaf to main, in order.
function fullChainShare(file) {
  const tr = lp.traces(file);
  const full = (t) => {
    const names = t.frames.filter((f) => CHAIN.includes(f));
    return CHAIN.every((c, i) => names[i] === c);
  };
  const onLeaf = tr.filter((t) => t.frames[0] === 'chain_leaf');
  return { share: lp.share(onLeaf, full), samples: onLeaf.reduce((a, t) => a + t.value, 0) };
}

test('--unwind auto walks a -fomit-frame-pointer program from the leaf to main; --unwind fp does not', async () => {
  const dir = lp.tmpdir('unwind');
  const results = {};
  for (const mode of ['auto', 'dwarf', 'fp']) {
    const out = path.join(dir, `${mode}.pb.gz`);
    const r = await lp.loopperfAsync(['record', '-q', '--unwind', mode, '-o', out, '--', PROG, '1500']);
    assert.strictEqual(r.status, 0, r.stderr);
    results[mode] = fullChainShare(out);
    // The program's own CPU time (it prints it): chain_leaf samples follow it at 999 Hz.
    const cpu = Number(r.stdout.match(/cpu_s=([\d.]+)/)[1]);
    assert.ok(Math.abs(results[mode].samples - 999 * cpu) <= LEAF_TOLERANCE * 999 * cpu, `${mode}: ${results[mode].samples} samples in chain_leaf for ${cpu} s of CPU`);
    const raw = lp.pprof(['-raw', out]);
    assert.match(raw, new RegExp(`loopperf:unwind=${mode}`));
    if (mode !== 'fp') assert.match(raw, /loopperf:unwind\.end\.complete=\d+/);
  }
  assert.ok(results.auto.share >= 0.9, `auto: full chain in ${results.auto.share}`);
  assert.ok(results.dwarf.share >= 0.9, `dwarf: full chain in ${results.dwarf.share}`);
  assert.ok(results.fp.share < 0.1, `fp: full chain in ${results.fp.share} (the DWARF path must be what does the work)`);
});

test('--unwind and --stack-size are validated', () => {
  let r = lp.loopperf(['record', '--unwind', 'magic', '-p', '1', '-d', '1s', '-o', '/tmp/x.pb.gz']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /fp, dwarf or auto/);
  r = lp.loopperf(['record', '--stack-size', '100000', '-p', '1', '-d', '1s', '-o', '/tmp/x.pb.gz']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /stack size/);
});
