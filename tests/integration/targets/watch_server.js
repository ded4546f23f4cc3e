// An HTTP server for `watch`: GET / answers at once (the healthy traffic); GET /stall/cpu?ms=N
// blocks the loop on the CPU in authMiddleware (crypto.pbkdf2Sync rounds) for N ms (of the clock and of CPU); GET
// /stall/off?ms=N blocks it off the CPU in checkLicense (execSync of a sleep). A timer ticks every
// 10 ms and counts what it sees, so that the test can check the target was not slowed. On SIGTERM it
// finishes within 300 ms (a graceful shutdown). READY_FILE gets "pid port".
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');
const { execSync } = require('node:child_process');

// N ms of the clock and N ms of the process's CPU time, whichever ends later: on a loaded machine
// the stall lasts longer, but its samples still stand for about N ms of CPU, which the tests check
// (the process's CPU alone counts other threads too, and ended a "400 ms" stall after 374 ms).
function authMiddleware(ms) {
  const start = process.cpuUsage();
  const end = Date.now() + ms;
  let rounds = 0;
  for (;;) {
    crypto.pbkdf2Sync('secret', 'salt', 2000, 32, 'sha256');
    rounds++;
    const u = process.cpuUsage(start);
    if (u.user + u.system >= ms * 1000 && Date.now() >= end) return rounds;
  }
}

function checkLicense(ms) {
  execSync(`sleep ${ms / 1000}`);
}

let ticks = 0;
setInterval(() => { ticks++; }, 10);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const ms = Number(url.searchParams.get('ms') || 300);
  if (url.pathname === '/stall/cpu') authMiddleware(ms);
  else if (url.pathname === '/stall/off') checkLicense(ms);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ticks }));
});
process.on('SIGTERM', () => {
  server.close();
  setTimeout(() => process.exit(0), 300);
});
server.listen(0, '127.0.0.1', () => {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${server.address().port}`);
});
