// A healthy but busy event loop for the watch bench's long run: every 10 ms a timer does ~9 ms of
// JavaScript (JSON and string work), so the loop is ~90% utilized and no turn comes near 100 ms.
// Reports its own eventLoopUtilization and the longest turn it saw in RESULT_FILE on SIGTERM.
'use strict';
const fs = require('node:fs');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');

const doc = { items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'] })) };
function handleTick() {
  const end = performance.now() + 9;
  let n = 0;
  while (performance.now() < end) n += JSON.stringify(doc).length + JSON.parse(JSON.stringify(doc.items[n % 200])).id;
  return n;
}
setInterval(handleTick, 10);
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
const elu0 = performance.eventLoopUtilization();
process.on('SIGTERM', () => {
  const elu = performance.eventLoopUtilization(elu0);
  if (process.env.RESULT_FILE) fs.writeFileSync(process.env.RESULT_FILE, JSON.stringify({ utilization: elu.utilization, max_delay_ms: h.max / 1e6 }));
  process.exit(0);
});
if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, String(process.pid));
