// An idle node: a timer ticks every 50 ms and counts; an HTTP server answers on an ephemeral port.
// READY_FILE gets "pid port". Used by the never-harm tests to prove the target still serves.
'use strict';
const fs = require('node:fs');
const http = require('node:http');

let ticks = 0;
setInterval(() => { ticks++; }, 50);
const server = http.createServer((req, res) => { res.end(JSON.stringify({ ticks })); });
server.listen(0, '127.0.0.1', () => {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${server.address().port}`);
});
process.on('SIGTERM', () => { server.close(); process.exit(0); });
