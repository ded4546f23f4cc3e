// A bounded local HTTP load for the watch bench: CONNECTIONS keep-alive connections to
// 127.0.0.1:PORT, each sending its next GET / once the previous answered and RATE_MS has passed
// since it was sent (so the offered load is bounded: CONNECTIONS / RATE_MS), for DURATION_MS.
// Prints {requests, rps, p50_ms, p99_ms, max_ms, errors} as JSON on stdout.
'use strict';
const http = require('node:http');

const port = Number(process.argv[2]);
const durationMs = Number(process.argv[3] || 10000);
const connections = Number(process.env.CONNECTIONS || 8);
const rateMs = Number(process.env.RATE_MS || 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const start = Date.now();
const stopAt = start + durationMs;
const lat = [];
let errors = 0;

function one() {
  const now = Date.now();
  if (now > stopAt) return;
  const t0 = process.hrtime.bigint();
  http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
    res.resume();
    res.on('end', () => {
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const wait = Math.max(0, rateMs - Number(process.hrtime.bigint() - t0) / 1e6);
      if (wait) setTimeout(one, wait); else setImmediate(one);
    });
  }).on('error', () => { errors++; setTimeout(one, 50); });
}
for (let i = 0; i < connections; i++) one();
setTimeout(() => {
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  console.log(JSON.stringify({ requests: lat.length, rps: lat.length / (durationMs / 1000), p50_ms: q(0.5), p99_ms: q(0.99), max_ms: lat.at(-1), errors }));
  process.exit(0);
}, durationMs + 50);
