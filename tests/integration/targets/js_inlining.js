// Workloads where TurboFan inlines small functions into their callers (issue: inlined functions
// vanish from a perf-map profile), run under V8's own profiler for comparison:
//   node --cpu-prof --cpu-prof-interval 500 js_inlining.js json|regex|html SECONDS
// Writes READY_FILE after a warm-up (the code is optimized by then) and exits after SECONDS, when
// node writes the .cpuprofile.
'use strict';
const fs = require('node:fs');

const mode = process.argv[2] || 'json';
const seconds = Number(process.argv[3] || 6);

// json: a round trip through small helpers
function serialize(o) { return JSON.stringify(o); }
function deserialize(s) { return JSON.parse(s); }
function roundTrip(i) {
  const o = { id: i, name: 'item' + i, tags: ['a', 'b', 'c'], nested: { x: i * 2, y: [i, i + 1] } };
  return deserialize(serialize(o)).nested.x;
}

// regex: tokenizing and normalizing text
const WORD = /[A-Za-z]+/g;
function normalize(w) { return w.toLowerCase().replace(/[aeiou]/g, '*'); }
function tokenize(line) {
  const out = [];
  let m;
  WORD.lastIndex = 0;
  while ((m = WORD.exec(line)) !== null) out.push(normalize(m[0]));
  return out.length;
}
const LINE = 'The quick brown Fox jumps over the lazy Dog while Regular Expressions match words';

// html: a request handler rendering escaped user input
function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
function renderRow(item) { return '<tr><td>' + escapeHtml(item.name) + '</td><td>' + item.n + '</td></tr>'; }
function handleRequest(i) {
  let html = '<table>';
  for (let k = 0; k < 20; k++) html += renderRow({ name: `<b>user ${i + k}</b> & "friends"`, n: k });
  return html.length;
}

const work = { json: roundTrip, regex: () => tokenize(LINE), html: handleRequest }[mode];
function runBatch(i) {
  let sink = 0;
  for (let k = 0; k < 200; k++) sink += work(i + k);
  return sink;
}

const start = Date.now();
let i = 0, readyWritten = false;
function loop() {
  const until = Date.now() + 50;
  while (Date.now() < until) runBatch(i++);
  if (!readyWritten && Date.now() - start > 1500) {
    readyWritten = true;
    fs.writeFileSync(process.env.READY_FILE, String(process.pid));
  }
  if (Date.now() - start < seconds * 1000) setImmediate(loop);
}
loop();
