// Benchmarks of real npm packages for scripts/diff-study.sh: fixed work on a fixed input, run to the
// end (launch mode records the whole process), in one of two versions:
//   node bench.js PROGRAM           the base
//   node bench.js PROGRAM double    the head: one function of the benchmark costs twice as much,
//                                   because it does its real work twice (the second result is the
//                                   one used, so nothing is optimized away)
// PROGRAM: markdown-it (the doubled function, renderTokens, renders the parsed tokens), marked
// (renderTokens: renders the lexed tokens), prettier (printDoc: prints the document to a string).
// The packages come from TEST_APPS (scripts/install-test-tools.sh installs them, pinned).
'use strict';
const { createRequire } = require('node:module');
const path = require('node:path');

if (!process.env.TEST_APPS) throw new Error('TEST_APPS is not set: run through scripts/diff-study.sh');
const req = createRequire(path.join(process.env.TEST_APPS, 'package.json'));
const [program, version] = process.argv.slice(2);
const DOUBLE = version === 'double';

// A fixed Markdown document: headings, emphasis, code, links, lists, tables, a code block.
let markdown = '';
for (let i = 0; i < 120; i++)
  markdown += `## Section ${i}\n\nSome *emphasis*, **strong** text, \`code\`, a [link](https://example.com/${i}) ` +
    `and <b>inline html</b> & entities &amp; "quotes".\n\n- one\n- two with _more_ text\n- three ${i}\n\n` +
    `| a | b | c |\n|---|---|---|\n| ${i} | ${i * 2} | **${i * 3}** |\n\n\`\`\`js\nconst x${i} = ${i};\n\`\`\`\n\n`;

// A fixed JavaScript source, badly formatted.
let source = '';
for (let i = 0; i < 40; i++)
  source += `function handler${i}(req,res){const items=req.body.items.map(x=>({id:x.id,total:x.price*x.qty,tags:x.tags.filter(t=>t.length>${i % 5})}));` +
    `if(items.length>${i}){return res.status(200).json({ok:true,items,count:items.length})}else{throw new Error("too few items: "+items.length)}}\n`;

let sink = 0;

function benchMarkdownIt(rounds) {
  const md = req('markdown-it')();
  function renderTokens(tokens, env) {
    let html = md.renderer.render(tokens, md.options, env);
    if (DOUBLE) html = md.renderer.render(tokens, md.options, env);
    return html;
  }
  for (let i = 0; i < rounds; i++) {
    const env = {};
    sink += renderTokens(md.parse(markdown, env), env).length;
  }
}

function benchMarked(rounds) {
  const { marked } = req('marked');
  function renderTokens(tokens) {
    let html = marked.parser(tokens);
    if (DOUBLE) html = marked.parser(tokens);
    return html;
  }
  for (let i = 0; i < rounds; i++) sink += renderTokens(marked.lexer(markdown)).length;
}

async function benchPrettier(rounds) {
  const prettier = req('prettier');
  const { printer } = req('prettier/doc');
  const options = { parser: 'babel' };
  const layout = { printWidth: 80, tabWidth: 2, useTabs: false };
  function printDoc(doc) {
    let out = printer.printDocToString(doc, layout);
    if (DOUBLE) out = printer.printDocToString(doc, layout);
    return out.formatted;
  }
  for (let i = 0; i < rounds; i++) sink += printDoc(await prettier.__debug.printToDoc(source, options)).length;
}

const benches = {
  'markdown-it': () => benchMarkdownIt(Number(process.env.ROUNDS || 400)),
  marked: () => benchMarked(Number(process.env.ROUNDS || 400)),
  prettier: () => benchPrettier(Number(process.env.ROUNDS || 50)),
};
if (!benches[program]) {
  console.error(`usage: node bench.js ${Object.keys(benches).join('|')} [double]`);
  process.exit(2);
}
Promise.resolve(benches[program]()).then(() => {
  if (sink === 0) console.error('nothing rendered');
});
