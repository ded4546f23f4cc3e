// An idle node: nothing but a timer every second. The loop thread sleeps in epoll_pwait.
'use strict';
const fs = require('node:fs');

let ticks = 0;
setInterval(function idleTick() { ticks++; }, 1000);
if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
