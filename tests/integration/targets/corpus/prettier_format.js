// A formatter run as people run it: `await prettier.format(...)` over and over on a fixed input.
// The work is CPU-bound JavaScript that runs as promise continuations (prettier's API is async),
// never giving the loop back to I/O between files.
'use strict';
const req = require('./apps');
const prettier = req('prettier');

// A fixed input: 60 functions of ordinary, badly formatted JavaScript.
let source = '';
for (let i = 0; i < 60; i++)
  source += `function handler${i}(req,res){const items=req.body.items.map(x=>({id:x.id,total:x.price*x.qty,tags:x.tags.filter(t=>t.length>${i % 5})}));` +
    `if(items.length>${i}){return res.status(200).json({ok:true,items,count:items.length})}else{throw new Error("too few items: "+items.length)}}\n`;

async function formatForever() {
  let n = 0;
  for (;;) {
    await prettier.format(source, { parser: 'babel' });
    if (++n === 3) req.ready();
  }
}
formatForever();
