// An idle node: a timer ticks every 50 ms and counts; an HTTP server answers on an ephemeral port
// with {ticks, usr2, fds} (fds: those that are not sockets); SIGUSR2 is counted. READY_FILE gets "pid port". Used by the never-harm
// tests to prove the target still serves, keeps its signal handling and its file descriptors.
'use strict';
const fs = require('node:fs');
const http = require('node:http');

let ticks = 0;
let usr2 = 0;
setInterval(() => { ticks++; }, 50);
process.on('SIGUSR2', () => { usr2++; });
// BLOCK_MS: every 2 x BLOCK_MS the loop also blocks BLOCK_MS in Atomics.wait (a futex wait, outside
// the poll): wall mode stops a thread blocked there at each tick, so the harm tests can hit
// loopperf while a thread of the target is stopped.
if (process.env.BLOCK_MS) {
  const ms = Number(process.env.BLOCK_MS);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  setInterval(() => Atomics.wait(cell, 0, 0, ms), 2 * ms);
}
// fds: the descriptors that are not sockets (how many connections are open at a request depends on
// when the client's previous ones were closed, not on anything done to the target).
const server = http.createServer((req, res) => {
  let fds = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (!fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) fds++;
    } catch { /* the directory's own descriptor, closed by now */ }
  }
  res.end(JSON.stringify({ ticks, usr2, fds }));
});
server.listen(0, '127.0.0.1', () => {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${server.address().port}`);
});
process.on('SIGTERM', () => { server.close(); process.exit(0); });
