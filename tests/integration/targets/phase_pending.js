// Hot JS in the pending phase (libuv's pending queue, uv__run_pending, inlined in uv_run).
// socket.end() -> uv_shutdown(): with an empty write queue libuv >= 1.44 only feeds the stream's
// io watcher to the pending queue (uv__io_feed); the next uv__run_pending calls uv__stream_io ->
// uv__drain -> shutdown(2) -> the shutdown callback, both by tail call, so under uv_run the stack
// goes straight to MakeLibuvRequestCallback<uv_shutdown_s>. Node's afterShutdown ends the writable
// side: 'prefinish' is emitted synchronously there (the 'finish' event and end()'s callback follow
// on the nextTick queue, still in that phase). The work is done in the 'prefinish' listener.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

let shutdowns = 0;
let sink = 0;
function hotPendingWork() {
  const end = Date.now() + 4;
  let acc = 0;
  while (Date.now() < end) for (let i = 0; i < 5000; i++) acc = (acc + Math.sqrt(i * 13 + acc)) % 1e9;
  sink += acc;
  if (++shutdowns === 20 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

const server = net.createServer((s) => {
  s.on('error', () => {});
  s.resume();
  s.on('end', () => s.end());
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const connectOne = () => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.on('prefinish', hotPendingWork);
      c.end();
    });
    c.on('error', () => {});
    c.resume();
    c.on('close', connectOne);
  };
  for (let i = 0; i < 2; i++) connectOne();
});
