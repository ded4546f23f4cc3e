#!/usr/bin/env node
// Reads ctest's JUnit file (ctest --output-junit) and prints the last word of scripts/test.sh:
// how many tests passed, failed and were skipped, with the reason of every skip. Skips come from two
// places: ctest tests marked skipped (unit tests' LP_SKIP marker, tests/unit/lp_skip.h) and subtests
// of an integration file skipped by node's test runner (TAP "# SKIP <reason>"); those files pass as
// one ctest test, so their skips are listed here too. A failed file's failing subtests follow its
// name with their assertion message and location: the end of the log is what a CI page shows
// when it cuts a long output, so the cause of a failure must be there, not only in ctest's middle.
'use strict';
const fs = require('node:fs');

const file = process.argv[2];
let xml;
try {
  xml = fs.readFileSync(file, 'utf8');
} catch (e) {
  console.log(`test summary: cannot read ${file} (${e.message})`);
  process.exit(0);
}

const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
  .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

// "not ok N - name" and its YAML block: the error message (inline or a |- block) and the location.
function failingSubtests(out) {
  const found = [];
  for (const m of out.matchAll(/^( *)not ok \d+ - (.*)\n\1  ---\n([\s\S]*?)\n\1  \.\.\.$/gm)) {
    if (/ # TODO\b/.test(m[2])) continue;
    const yaml = m[3];
    const location = (yaml.match(/^\s*location: '([^']*)'/m) || [])[1] || '';
    let error = '';
    const block = yaml.match(/^( *)error: \|-?\n((?:\1  .*\n?|\s*\n)*)/m);
    if (block) error = block[2].split('\n').map((l) => l.trim()).filter(Boolean).join('\n');
    else error = ((yaml.match(/^\s*error: (.*)$/m) || [])[1] || '').replace(/^'(.*)'$/, '$1');
    found.push({ name: m[2], location, error });
  }
  return found;
}

const MAX_ERROR_LINES = 15;
const passed = [], failed = [], skipped = [], subSkips = [], todos = [];
for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
  const attrs = m[1];
  const body = m[3] || '';
  const name = unescape((attrs.match(/\bname="([^"]*)"/) || [])[1] || '?');
  const status = (attrs.match(/\bstatus="([^"]*)"/) || [])[1] || '';
  const out = unescape((body.match(/<system-out>([\s\S]*?)<\/system-out>/) || [])[1] || '');
  if (/<skipped\b/.test(body) || status === 'notrun' || status === 'disabled') {
    const marker = out.match(/LOOPPERF_TEST_SKIPPED: (.*)/);
    const msg = (body.match(/<skipped\b[^>]*message="([^"]*)"/) || [])[1];
    skipped.push({ name, reason: marker ? marker[1].trim() : unescape(msg || 'no reason given') });
  } else if (/<failure\b|<error\b/.test(body) || status === 'fail') {
    failed.push({ name, subtests: failingSubtests(out) });
  } else {
    passed.push(name);
  }
  // node --test --test-reporter=tap: "ok 3 - name # SKIP reason" (indented for subtests).
  for (const s of out.matchAll(/^\s*ok \d+ - (.*?) # SKIP\s*(.*)$/gm)) {
    subSkips.push({ name: `${name} › ${s[1]}`, reason: s[2].trim() || 'no reason given' });
  }
  // "not ok 9 - name # TODO reason": a known gap, checked on every run and named here, not a pass.
  for (const s of out.matchAll(/^\s*(not ok|ok) \d+ - (.*?) # TODO\s*(.*)$/gm)) {
    todos.push({ name: `${name} › ${s[2]}`, reason: s[3].trim(), met: s[1] === 'ok' });
  }
}

console.log('');
console.log(`test summary: ${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped` +
  (subSkips.length ? ` (and ${subSkips.length} skipped inside integration files that passed)` : ''));
for (const f of failed) {
  console.log(`  FAILED   ${f.name}`);
  for (const t of f.subtests) {
    console.log(`    not ok ${t.name}${t.location ? ` (${t.location.replace(/^.*\/tests\//, 'tests/')})` : ''}`);
    // Long messages keep their head (what ran) and their tail (the assertion that failed).
    let lines = t.error.split('\n');
    if (lines.length > MAX_ERROR_LINES) {
      const half = Math.floor(MAX_ERROR_LINES / 2);
      lines = [...lines.slice(0, half), `… ${lines.length - 2 * half} lines …`, ...lines.slice(-half)];
    }
    for (const l of lines) console.log(`      ${l}`);
  }
}
for (const s of [...skipped, ...subSkips]) console.log(`  SKIPPED  ${s.name}: ${s.reason}`);
for (const t of todos) console.log(`  TODO     ${t.name}: ${t.reason}${t.met ? ' (now met: remove the todo)' : ''}`);
