// Load for the demo: keeps CONCURRENCY requests in flight against 127.0.0.1:PORT for DURATION_MS.
'use strict';
const http = require('node:http');

const port = Number(process.argv[2]);
const durationMs = Number(process.argv[3] || 8000);
const concurrency = Number(process.env.CONCURRENCY || 4);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const stopAt = Date.now() + durationMs;
let done = 0;

function one() {
  if (Date.now() > stopAt) return;
  http.get({ host: '127.0.0.1', port, path: '/order', agent }, (res) => {
    res.resume();
    res.on('end', () => { done++; one(); });
  }).on('error', () => setTimeout(one, 50));
}
for (let i = 0; i < concurrency; i++) one();
setTimeout(() => { agent.destroy(); }, durationMs + 100).unref();
process.on('exit', () => console.error(`load: ${done} requests`));
