// Periodic work in lockstep with a fixed sampling period: each cycle spins in spinA for 250 µs and
// in spinB for 751 µs of CPU time, 1001 µs in all, the period of 999 Hz. A fixed-period sampler
// sees the same point of the cycle sample after sample and gives spinA about 0% or 100%; a jittered
// one gives it its 25%. Runs until it has used CPU_MS of CPU (default 1500; on a loaded machine
// that takes longer than 1.5 s, at most 30 s), then exits.
'use strict';

const cpuMicros = () => { const u = process.cpuUsage(); return u.user + u.system; };

function spinA(until) { let x = 0; while (cpuMicros() < until) x++; return x; }
function spinB(until) { let x = 0; while (cpuMicros() < until) x++; return x; }
function spinC(until) { let x = 0; while (cpuMicros() < until) x += 2; return x; }
function spinD(until) { let x = 0; while (cpuMicros() < until) x += 3; return x; }
function spinE(until) { let x = 0; while (cpuMicros() < until) x += 4; return x; }

// One call site with five targets: megamorphic, so V8 never inlines spinA or spinB into the loop
// (their samples would carry the loop's name instead).
const targets = [spinA, spinB, spinC, spinD, spinE];
function run(i, until) { return targets[i](until); }
for (let i = 0; i < targets.length; i++) run(i, cpuMicros());

const deadline = Date.now() + 30000;
let sink = 0, cycle = cpuMicros();
const until = cycle + 1000 * Number(process.env.CPU_MS || 1500);
while (cycle < until && Date.now() < deadline) {
  sink += run(0, cycle + 250);
  sink += run(1, cycle + 1001);
  cycle += 1001;
}
console.log(sink > 0 ? 'done' : '');
