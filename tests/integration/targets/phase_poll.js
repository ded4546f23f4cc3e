// Hot JS in the poll phase: an HTTP server whose request handler does the work. The handler runs
// from uv__io_poll -> uv__stream_io -> LibuvStreamWrap::OnUvRead -> the HTTP parser -> 'request'.
// Load comes from outside (the test drives it over 127.0.0.1). READY_FILE gets "pid port" once
// the server listens and has answered a few warm-up requests of its own.
'use strict';
const fs = require('node:fs');
const http = require('node:http');

let sink = 0;
function hotPollHandler(req, res) {
  const end = Date.now() + 2;
  let acc = 0;
  while (Date.now() < end) for (let i = 0; i < 5000; i++) acc = (acc + Math.sqrt(i * 5 + acc)) % 1e9;
  sink += acc;
  res.end(String(acc));
}

const server = http.createServer(hotPollHandler);
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  let left = 20;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warm = () => {
    http.get({ host: '127.0.0.1', port, path: '/warm', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (--left > 0) return warm();
        agent.destroy();
        if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, `${process.pid} ${port}`);
      });
    });
  };
  warm();
});
