// Writes a wall-time profile with Node's pprof package (@datadog/pprof, from the test tools) the way
// Node users produce pprof files, to check that loopperf reads other tools' files.
// Usage: node convert_nodepprof.js TOOLS_NODE_MODULES OUT.pb.gz
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const pprof = require(path.join(process.argv[2], '@datadog', 'pprof'));

function nodePprofHot() {
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  return x;
}

(async () => {
  pprof.time.start({ durationMillis: 1000, intervalMicros: 1000 });
  let sink = 0;
  for (const until = Date.now() + 400; Date.now() < until;) sink += nodePprofHot();
  const profile = pprof.time.stop();
  fs.writeFileSync(process.argv[3], await pprof.encode(profile));
  console.log(`done ${sink > 0}`);
})();
