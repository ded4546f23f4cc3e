// The bundled demo: a small HTTP API with the mistakes loopperf is built to find. Every request
// goes through an auth middleware that reads a token file synchronously, parses a JSON body with a
// slow hand-written validator, and sometimes hashes with pbkdf2Sync.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const tokenFile = path.join(os.tmpdir(), `loopperf-demo-tokens-${process.pid}.json`);
fs.writeFileSync(tokenFile, JSON.stringify({ tokens: Array.from({ length: 20000 }, (_, i) => `tok-${i}`) }));

function authMiddleware(req) {
  // Reads and parses the whole token file on every request: synchronous I/O on the loop.
  const { tokens } = JSON.parse(fs.readFileSync(tokenFile, 'utf8'));
  return tokens.includes(req.headers['x-token'] || 'tok-19999');
}

function validateOrder(order) {
  let score = 0;
  for (const item of order.items) {
    for (let i = 0; i < 200; i++) score += Math.sqrt(item.qty * i + score) % 7;
  }
  return score;
}

function hashPassword(pw) {
  return crypto.pbkdf2Sync(pw, 'salt', 2000, 32, 'sha256').toString('hex');
}

let requests = 0;
const server = http.createServer((req, res) => {
  requests++;
  if (!authMiddleware(req)) {
    res.statusCode = 401;
    return res.end();
  }
  const order = { items: Array.from({ length: 50 }, (_, i) => ({ qty: i })) };
  const score = validateOrder(order);
  const hash = requests % 4 === 0 ? hashPassword(`pw-${requests}`) : '';
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, score, hash }));
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${port}`);
  else console.log(`demo server pid ${process.pid} on http://127.0.0.1:${port}`);
});

const cleanup = () => { try { fs.unlinkSync(tokenFile); } catch {} process.exit(0); };
process.on('SIGTERM', cleanup);
process.on('SIGINT', cleanup);
