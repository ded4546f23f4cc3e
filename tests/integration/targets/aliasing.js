// Periodic work in lockstep with a fixed sampling period: each cycle spins in spinA for 250 µs and
// in spinB for 751 µs of CPU time, 1001 µs in all, the period of 999 Hz. A fixed-period sampler
// sees the same point of the cycle sample after sample and gives spinA about 0% or 100%; a jittered
// one gives it its 25%. Runs for DURATION_MS (default 2000), then exits.
'use strict';

const cpuMicros = () => { const u = process.cpuUsage(); return u.user + u.system; };

function spinA(until) { let x = 0; while (cpuMicros() < until) x++; return x; }
function spinB(until) { let x = 0; while (cpuMicros() < until) x++; return x; }

const end = Date.now() + Number(process.env.DURATION_MS || 2000);
let sink = 0, cycle = cpuMicros();
while (Date.now() < end) {
  sink += spinA(cycle + 250);
  sink += spinB(cycle + 1001);
  cycle += 1001;
}
console.log(sink > 0 ? 'done' : '');
