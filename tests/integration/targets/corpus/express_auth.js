// An Express server with a synchronous file read in its authentication middleware (the case in
// loopperf's README): every request reads the key file with readFileSync.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const req = require('./apps');
const express = req('express');

const keyFile = path.join(path.dirname(process.env.READY_FILE || __filename), 'auth-key.txt');
fs.writeFileSync(keyFile, 'k'.repeat(4 << 20));  // 4 MiB: a slow read each time

function authMiddleware(request, response, next) {
  const key = fs.readFileSync(keyFile, 'utf8');
  if (key.length === 0) return response.status(401).end();
  next();
}

const app = express();
app.use(authMiddleware);
app.get('/quote', function handleQuote(request, response) {
  response.json({ quote: 'ok', at: Date.now() });
});
const server = app.listen(0, '127.0.0.1', () => req.ready(server.address().port));
