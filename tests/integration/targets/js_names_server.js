// An HTTP server whose auth middleware reads a file synchronously on every request (the case the
// README opens with). Started with no flags: its JavaScript is named from the heap. Writes
// "ready PORT" to READY_FILE once listening.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const tokenFile = path.join(process.env.DATA_DIR || __dirname, 'tokens.json');
if (!fs.existsSync(tokenFile)) fs.writeFileSync(tokenFile, JSON.stringify({ pad: 'x'.repeat(4 << 20) }));

function authMiddleware(req, res, next) {
  const tokens = fs.readFileSync(tokenFile);  // the blocking read every request waits for
  req.tokens = tokens.length;
  next();
}

function handleHello(req, res) {
  res.end(JSON.stringify({ ok: true, tokens: req.tokens }));
}

const server = http.createServer((req, res) => authMiddleware(req, res, () => handleHello(req, res)));
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(process.env.READY_FILE, `ready ${server.address().port}`);
});
