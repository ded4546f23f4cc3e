// Hot JS in the close phase. net.Socket#destroy() closes its handle with a callback that emits
// 'close' (lib/net.js closeSocketHandle: this._handle.close(() => this.emit('close'))); libuv runs
// handle close callbacks from uv__run_closing_handles (inlined in uv_run), node from
// HandleWrap::OnClose. So a 'close' listener runs in the close phase. The program connects to its
// own server on 127.0.0.1, destroys each client socket once connected and does the work in the
// client socket's 'close' listener, then opens the next connection.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

let closes = 0;
let sink = 0;
function hotCloseWork() {
  const end = Date.now() + 4;
  let acc = 0;
  while (Date.now() < end) for (let i = 0; i < 5000; i++) acc = (acc + Math.sqrt(i * 11 + acc)) % 1e9;
  sink += acc;
  if (++closes === 20 && process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
}

const server = net.createServer((s) => {
  s.on('error', () => {});
  s.resume();
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const connectOne = () => {
    const c = net.connect(port, '127.0.0.1', () => c.destroy());
    c.on('error', () => {});
    c.on('close', hotCloseWork);
    c.on('close', connectOne);
  };
  for (let i = 0; i < 2; i++) connectOne();
});
