// A piscina pool: the main thread hands CPU-bound jobs to two workers and waits for them.
'use strict';
const path = require('node:path');
const req = require('./apps');
const { Piscina } = req('piscina');

const pool = new Piscina({ filename: path.join(__dirname, 'piscina_task.js'), minThreads: 2, maxThreads: 2 });
let done = 0;
async function submitForever() {
  for (;;) {
    await Promise.all([pool.run(22), pool.run(23)]);
    if (++done === 2) req.ready();
  }
}
submitForever();
