// A loop that measures itself with perf_hooks over a window the test opens and closes (START_FILE
// appears → measure; STOP_FILE appears → write RESULT_FILE), doing the work named by argv[2]:
//   idle       a 100 ms timer and nothing else
//   half       every 10 ms a timer that is busy for 5 ms
//   halfgc     the same, allocating all the while (V8 collects garbage many times a second)
//   saturated  setImmediate callbacks that are always busy
//   block300   like half, plus one 300 ms block shortly after the window opens
//   execsync   a timer that runs execSync('sleep 0.05') again and again
'use strict';
const fs = require('node:fs');
const { execSync } = require('node:child_process');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');

const mode = process.argv[2];
const { READY_FILE, START_FILE, STOP_FILE, RESULT_FILE } = process.env;

function busy(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

let kept = [];
function allocating(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const a = [];
    for (let i = 0; i < 100; i++) a.push({ i, s: 'x' + i });
    kept.push(a);
    if (kept.length > 2000) kept = [];
  }
}

let started = null;
let startedAt = 0;
let calls = 0;  // callbacks run inside the window: each needs a loop iteration of its own
let blocked = false;
const delay = monitorEventLoopDelay({ resolution: 10 });

function watchWindow() {
  if (!started && fs.existsSync(START_FILE)) {
    started = performance.eventLoopUtilization();
    startedAt = performance.now();
    delay.enable();
  } else if (started && fs.existsSync(STOP_FILE)) {
    const elu = performance.eventLoopUtilization(started);
    delay.disable();
    const callbacksPerSec = calls / ((performance.now() - startedAt) / 1000);
    // Written whole under another name, then renamed: the reader never sees half a file.
    fs.writeFileSync(`${RESULT_FILE}.tmp`, JSON.stringify({ utilization: elu.utilization, maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6, meanDelayMs: delay.mean / 1e6, callbacksPerSec }));
    fs.renameSync(`${RESULT_FILE}.tmp`, RESULT_FILE);
    process.exit(0);
  }
}

if (mode === 'saturated') {
  (function spin() {
    if (started) calls++;
    busy(2);
    watchWindow();
    setImmediate(spin);
  })();
} else {
  setInterval(function tick() {
    if (started) calls++;
    watchWindow();
    if (mode === 'half' || mode === 'block300') busy(5);
    if (mode === 'halfgc') allocating(5);
    if (mode === 'block300' && started && !blocked && performance.now() - started.idle - started.active > 400) {
      blocked = true;
      busy(300);
    }
    if (mode === 'execsync') execSync('sleep 0.05');
  }, mode === 'idle' ? 100 : 10);
}
fs.writeFileSync(READY_FILE, String(process.pid));
