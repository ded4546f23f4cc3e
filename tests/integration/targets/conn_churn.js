// An HTTP server on localhost and 8 clients that each open a new connection per request (agent:
// false): every accept and close adds and removes an fd from the loop's epoll set. libuv >= 1.45
// batches those epoll_ctl calls through io_uring when the kernel allows it (uv__epoll_ctl_flush,
// called from uv__io_poll): io_uring_enter runs inside the poll phase.
'use strict';
const http = require('http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  for (let k = 0; k < 8; k++) {
    (function get() {
      http.get({ host: '127.0.0.1', port, agent: false }, (r) => { r.resume(); r.on('end', get); });
    })();
  }
  require('fs').writeFileSync(process.env.READY_FILE, String(process.pid));
});
