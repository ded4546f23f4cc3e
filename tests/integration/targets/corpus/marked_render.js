// A markdown renderer on a timer: marked.parse of a fixed document every 50 ms (synchronous).
'use strict';
const req = require('./apps');
const { marked } = req('marked');

let doc = '';
for (let i = 0; i < 400; i++)
  doc += `## Section ${i}\n\nSome *emphasis*, **strong** text, \`code\`, a [link](https://example.com/${i}) and a list:\n\n- one\n- two\n- three ${i}\n\n| a | b |\n|---|---|\n| ${i} | ${i * 2} |\n\n`;

let n = 0;
function renderDocs() {
  const html = marked.parse(doc);
  if (html.length > 0 && ++n === 3) req.ready();
}
setInterval(renderDocs, 50);
