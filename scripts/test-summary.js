#!/usr/bin/env node
// Reads ctest's JUnit file (ctest --output-junit) and prints the last word of scripts/test.sh:
// how many tests passed, failed and were skipped, with the reason of every skip. Skips come from two
// places: ctest tests marked skipped (unit tests' LP_SKIP marker, tests/unit/lp_skip.h) and subtests
// of an integration file skipped by node's test runner (TAP "# SKIP <reason>"); those files pass as
// one ctest test, so their skips are listed here too.
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
    failed.push(name);
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
for (const f of failed) console.log(`  FAILED   ${f}`);
for (const s of [...skipped, ...subSkips]) console.log(`  SKIPPED  ${s.name}: ${s.reason}`);
for (const t of todos) console.log(`  TODO     ${t.name}: ${t.reason}${t.met ? ' (now met: remove the todo)' : ''}`);
