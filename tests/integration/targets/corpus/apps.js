// Where the real npm packages of the corpus live (scripts/install-test-tools.sh installs them into
// BUILD_DIR/test-apps): TEST_APPS, set by tests/integration/corpus.test.js.
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

if (!process.env.TEST_APPS) throw new Error('TEST_APPS is not set: run through tests/integration/corpus.test.js');
module.exports = createRequire(path.join(process.env.TEST_APPS, 'package.json'));

// Tells the test the program is in its steady state: "PID" or "PID PORT".
let told = false;
module.exports.ready = (port) => {
  if (told || !process.env.READY_FILE) return;
  told = true;
  require('node:fs').writeFileSync(process.env.READY_FILE, port ? `${process.pid} ${port}` : String(process.pid));
};
