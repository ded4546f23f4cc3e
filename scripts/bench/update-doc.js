// Puts the Markdown block written by bench.js into docs/performance.md between the markers
// "<!-- bench:begin -->" and "<!-- bench:end -->" (the rest of the page is hand-written), and
// keeps the raw results beside this script (scripts/bench/results.json).
// Usage: node update-doc.js DOC RESULTS.md RESULTS.json
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [doc, mdFile, jsonFile] = process.argv.slice(2);
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';
const text = fs.readFileSync(doc, 'utf8');
const block = fs.readFileSync(mdFile, 'utf8').trimEnd();
const b = text.indexOf(BEGIN), e = text.indexOf(END);
let out;
if (b >= 0 && e > b) out = `${text.slice(0, b + BEGIN.length)}\n${block}\n${text.slice(e)}`;
else out = `${text.trimEnd()}\n\n## Latest results\n\n${BEGIN}\n${block}\n${END}\n`;
fs.writeFileSync(doc, out);
if (jsonFile) fs.copyFileSync(jsonFile, path.join(__dirname, 'results.json'));
