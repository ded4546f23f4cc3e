// An HTTP server whose handler blocks its loop in execSync('sleep 0.2'): under concurrent
// connections the loop is busy nearly all the time, and most of it inside spawnSync's own nested
// uv loop, which waits on another epoll fd. READY_FILE gets "pid port".
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const { execSync } = require('node:child_process');

const server = http.createServer((req, res) => {
  execSync('sleep 0.2');
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => {
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${server.address().port}`);
});
