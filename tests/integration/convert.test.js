// loopperf convert and the writers, checked by their real consumers: speedscope's schema (ajv) and
// importer, Chrome DevTools' Performance panel and headless Chromium, all installed by
// scripts/install-test-tools.sh; totals checked against Google's pprof.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const lp = require('./lib');

const { TOOLS, tool, launchBrowser } = require('./browser');
const SPEEDSCOPE = path.join(TOOLS, 'speedscope', 'dist', 'release');

// Page-side helpers: DevTools keeps its UI in shadow roots, so text and elements are found deeply.
const DEEP = `const deepAll = function* (root) { const st = [root]; while (st.length) { const n = st.pop(); yield n;
  if (n.shadowRoot) st.push(n.shadowRoot); for (const c of n.children || []) st.push(c); } };
const deepText = () => { const out = []; const walk = (n) => { if (n.nodeType === 3) { const t = n.textContent.trim();
  if (t && !/^(STYLE|SCRIPT)$/.test(n.parentNode.nodeName)) out.push(t); return; }
  if (n.shadowRoot) walk(n.shadowRoot); for (const c of n.childNodes) walk(c); }; walk(document.body); return out.join('\\n'); };
const clickTab = (label) => { for (const n of deepAll(document.documentElement)) if (n.getAttribute && n.getAttribute('role') === 'tab'
  && n.textContent.trim() === label) { n.dispatchEvent(new MouseEvent('mousedown', { bubbles: true })); n.click(); return true; } return false; };`;

// Opens `file` in the speedscope app from the npm package the way its own CLI does, switches to the
// Sandwich view and returns {self%} of `fn` as speedscope computed it.
async function speedscopeSelfShare(browser, file, fn) {
  const name = path.basename(file);
  const loader = path.join(path.dirname(file), `${name}.load.js`);
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(fs.readFileSync(file).toString('base64'))})`);
  const page = await browser.open(`file://${SPEEDSCOPE}/index.html#localProfilePath=${loader}`);
  try {
    const title = await page.waitFor(`document.title.endsWith(' - speedscope') && document.title`, `speedscope to import ${name}`);
    await page.evaluate(`[...document.querySelectorAll('div,span')].find((e) => e.textContent.endsWith('Sandwich') && e.children.length <= 1).click()`);
    const text = await page.waitFor(`document.body.innerText.includes('Symbol Name') && document.body.innerText.includes(${JSON.stringify(fn)}) && document.body.innerText`, 'the sandwich table');
    const lines = text.split('\n').map((l) => l.trim());
    const at = lines.indexOf(fn);
    const m = lines[at - 1].match(/\((>?[\d.]+)%\)/);
    assert.deepStrictEqual(page.errors, [], 'speedscope logged errors');
    return { title, self: Number(m[1]) / 100 };
  } finally {
    await page.close();
  }
}

// ---- A pprof file written by hand (as another tool would), big enough to stress the viewer. -----
function syntheticPprof(nSamples) {
  let seed = 7;
  const rnd = () => {  // mulberry32: deterministic, so the expected shares are exact
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const varint = (n) => { const b = []; n = BigInt(n); if (n < 0n) n += 1n << 64n; do { let x = Number(n & 0x7fn); n >>= 7n; if (n) x |= 0x80; b.push(x); } while (n); return b; };
  const vint = (f, v) => [...varint(f << 3), ...varint(v)];
  const msg = (f, bytes) => [...varint((f << 3) | 2), ...varint(bytes.length), ...bytes];
  const strings = [''], index = new Map([['', 0]]);
  const s = (t) => { if (!index.has(t)) { index.set(t, strings.length); strings.push(t); } return index.get(t); };
  const out = [];
  const push = (bytes) => { for (const b of bytes) out.push(b); };
  push(msg(1, [...vint(1, s('samples')), ...vint(2, s('count'))]));
  const nFn = 3000;
  for (let f = 1; f <= nFn; f++) {
    push(msg(5, [...vint(1, f), ...vint(2, s(`fn${f}`)), ...vint(4, s(`/app/m${f % 50}.js`)), ...vint(5, f)]));
    push(msg(4, [...vint(1, f), ...vint(3, 0x1000 + f * 16), ...msg(4, [...vint(1, f), ...vint(2, f)])]));
  }
  const callees = [];
  for (let f = 1; f <= nFn; f++) callees[f] = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => 1 + Math.floor(rnd() * nFn));
  const phases = ['timers', 'poll', 'check'], roles = [[100, 'main-loop'], [101, 'worker-loop'], [102, 'libuv-pool']];
  let withFn42 = 0;
  for (let i = 0; i < nSamples; i++) {
    const stack = [];
    for (let d = 0, f = 1 + Math.floor(rnd() * 5), depth = 8 + Math.floor(rnd() * 30); d < depth; d++) {
      stack.push(f);
      f = callees[f][Math.floor(rnd() * rnd() * callees[f].length)];
    }
    if (stack.includes(42)) withFn42++;
    const [tid, role] = roles[Math.floor(rnd() * rnd() * 3)];
    const label = (k, v) => msg(3, typeof v === 'number' ? [...vint(1, s(k)), ...vint(3, v)] : [...vint(1, s(k)), ...vint(2, s(v))]);
    push(msg(2, [...msg(1, stack.reverse().flatMap(varint)), ...msg(2, varint(1)), ...label('thread', 'node'), ...label('tid', tid),
      ...label('role', role), ...label('phase', phases[i % 3]), ...label('request_id', `r${i % 7}`)]));
  }
  push(vint(9, 1700000000000000000n));
  push(msg(11, [...vint(1, s('cpu')), ...vint(2, s('nanoseconds'))]));
  push(vint(12, 1000000));
  for (const t of strings) push(msg(6, [...Buffer.from(t, 'utf8')]));  // last: every string is known
  return { bytes: zlib.gzipSync(Buffer.from(out)), withFn42 };
}

// ---- pprof-derived numbers. ---------------------------------------------------------------------
// `pprof -tags`: {key: {total, by: {value: samples}}}.
function tags(file, extra = []) {
  const out = lp.pprof(['-tags', '-sample_index=samples', ...extra, file]);
  const res = {};
  let key = null;
  for (const line of out.split('\n')) {
    const head = line.match(/^\s*(\S+): Total ([\d.]+)/);
    if (head) { key = head[1]; res[key] = { total: Number(head[2]), by: {} }; continue; }
    const row = line.match(/^\s*([\d.]+) \(\s*[\d.]+%\): (.*)$/);
    if (row && key) res[key].by[row[2].trim()] = Number(row[1]);
  }
  return res;
}
const sum = (list) => list.reduce((a, t) => a + t.value, 0);
const leafShare = (list, fn) => (sum(list) ? sum(list.filter((t) => t.frames[0] === fn)) / sum(list) : 0);

function convert(args, expectStatus = 0) {
  const r = lp.loopperf(['convert', '-q', ...args]);
  assert.strictEqual(r.status, expectStatus, `convert ${args.join(' ')}: ${r.stderr}`);
  return r;
}
function validateSpeedscope(file) {
  const Ajv = tool('ajv');
  const validate = new Ajv({ allErrors: true, strict: false }).compile(require(path.join(SPEEDSCOPE, 'file-format-schema.json')));
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(validate(doc), `speedscope schema: ${JSON.stringify(validate.errors).slice(0, 2000)}`);
  return doc;
}
// What DevTools' CPU profile model needs: unique ids, children that exist with one parent each,
// samples naming nodes, one timeDelta per sample, endTime = startTime + the deltas.
function checkCpuprofile(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const ids = new Map(doc.nodes.map((n) => [n.id, n]));
  assert.strictEqual(ids.size, doc.nodes.length, 'node ids unique');
  const parents = new Map();
  for (const n of doc.nodes) {
    for (const k of ['functionName', 'scriptId', 'url', 'lineNumber', 'columnNumber']) assert.ok(k in n.callFrame, `callFrame.${k}`);
    for (const c of n.children || []) {
      assert.ok(ids.has(c), `child ${c} exists`);
      parents.set(c, (parents.get(c) || 0) + 1);
    }
  }
  assert.ok([...parents.values()].every((v) => v === 1), 'one parent per node');
  assert.strictEqual(doc.nodes[0].callFrame.functionName, '(root)');
  assert.strictEqual(doc.samples.length, doc.timeDeltas.length, 'timeDeltas per sample');
  assert.ok(doc.samples.every((id) => ids.has(id)), 'samples reference nodes');
  assert.ok(doc.timeDeltas.every((d) => d >= 0), 'time goes forward');
  assert.strictEqual(doc.endTime - doc.startTime, doc.timeDeltas.reduce((a, b) => a + b, 0));
  return doc;
}

let dir, app, appTraces, browser;
test.before(async () => {
  dir = lp.tmpdir('convert');
  app = path.join(dir, 'app.pb.gz');
  const r = lp.loopperf(['record', '-q', '-o', app, '--', process.execPath, path.join(lp.TARGETS, 'convert_app.js')],
    { cwd: dir, env: { ...process.env, DURATION_MS: '2500' } });
  assert.strictEqual(r.status, 0, r.stderr);
  appTraces = lp.traces(app);
  browser = await launchBrowser();
});
test.after(async () => {
  if (browser) await browser.close();
  if (dir && !process.env.LOOPPERF_KEEP) fs.rmSync(dir, { recursive: true, force: true });
});

const isMain = (t) => t.labels.role === 'main-loop';

test('folded: one line per stack, root first; totals per thread equal pprof -tags', () => {
  const out = path.join(dir, 'app.folded');
  convert([app, '-o', out]);
  const perThread = {};
  let total = 0;
  for (const line of fs.readFileSync(out, 'utf8').trim().split('\n')) {
    const sp = line.lastIndexOf(' ');
    const n = Number(line.slice(sp + 1));
    const frames = line.slice(0, sp).split(';');
    assert.ok(Number.isInteger(n) && n > 0, line);
    const tid = frames[0].match(/^.* \((\d+)\)$/)[1];
    assert.match(frames[1], /^\[[a-z-]+\]$/, 'phase root second');
    const uv = frames.indexOf('uv_run'), burn = frames.lastIndexOf('burn');
    if (uv >= 0 && burn >= 0) assert.ok(uv < burn, 'root first: uv_run before burn');
    perThread[tid] = (perThread[tid] || 0) + n;
    total += n;
  }
  const t = tags(app);
  assert.strictEqual(total, t.tid.total);
  assert.deepStrictEqual(perThread, t.tid.by);
});

test('speedscope: valid against the npm package schema; speedscope imports it and agrees with pprof', async () => {
  const out = path.join(dir, 'app.speedscope.json');
  convert([app, '-o', out]);
  const doc = validateSpeedscope(out);
  const t = tags(app);
  const mainTid = appTraces.find(isMain).labels.tid;
  assert.match(doc.profiles[0].name, new RegExp(`^\\S+ \\(${mainTid}\\)$`), 'main loop first, named "name (tid)"');
  assert.strictEqual(doc.profiles.length, Object.keys(t.tid.by).length, 'one profile per thread');
  const worker = doc.profiles.findIndex((p) => appTraces.some((x) => x.labels.role === 'worker-loop' && p.name.endsWith(`(${x.labels.tid})`)));
  assert.strictEqual(worker, 1, 'the worker loop second');
  const burn = doc.shared.frames.find((f) => f.name === 'burn');
  assert.ok(burn.file.endsWith('convert_app.js') && burn.line === 9, `burn at ${burn.file}:${burn.line}`);
  assert.ok(doc.profiles[0].samples.every((s) => /^\[[a-z-]+\]$/.test(doc.shared.frames[s[0]].name)), 'phase roots');

  const plain = path.join(dir, 'plain.speedscope.json');
  convert([app, '-o', plain, '--no-phase-roots']);
  assert.ok(!validateSpeedscope(plain).shared.frames.some((f) => f.name === '[poll]'));

  const { title, self } = await speedscopeSelfShare(browser, out, 'burn');
  assert.strictEqual(title, 'node convert_app.js - speedscope');
  const expected = leafShare(appTraces.filter(isMain), 'burn');
  assert.ok(Math.abs(self - expected) < 0.015, `speedscope says burn self ${self}, pprof ${expected}`);
});

test('cpuprofile: DevTools invariants; Chrome DevTools Performance panel and speedscope load it', async (t) => {
  const out = path.join(dir, 'app.cpuprofile');
  convert([app, '-o', out]);
  const doc = checkCpuprofile(out);
  const main = appTraces.filter(isMain);
  assert.strictEqual(doc.samples.length, sum(main), 'the main loop thread, one sample per count');
  const burn = doc.nodes.find((n) => n.callFrame.functionName === 'burn').callFrame;
  assert.deepStrictEqual([burn.lineNumber, burn.url.startsWith('file:///')], [8, true], '0-based line, file URL');

  const { self } = await speedscopeSelfShare(browser, out, 'burn');
  const expected = leafShare(main, 'burn');
  assert.ok(Math.abs(self - expected) < 0.015, `speedscope: burn self ${self}, pprof ${expected}`);

  // DevTools itself, served by the browser: Performance panel, "Load profile", Bottom-up.
  const page = await browser.open(`${browser.devtools()}/devtools_app.html`);
  try {
    await page.waitFor(`(() => { ${DEEP} return clickTab('Performance'); })()`, 'the Performance tab');
    const input = await page.send('Runtime.evaluate', { expression: `new Promise((done) => { ${DEEP} const look = () => {
      for (const n of deepAll(document.documentElement)) if (n.tagName === 'INPUT' && n.type === 'file') return done(n);
      setTimeout(look, 50); }; look(); })`, awaitPromise: true });
    await page.send('DOM.enable');
    await page.send('DOM.setFileInputFiles', { files: [out], objectId: input.result.objectId });
    const text = await page.waitFor(`(() => { ${DEEP} const t = deepText(); return /Full range \\(/.test(t) && t; })()`, 'DevTools to load the profile');
    const m = text.match(/Full range \(([\d,.]+)\s*(ms|s)\)/);
    assert.ok(m, text.slice(text.indexOf('Full range'), text.indexOf('Full range') + 100));
    const range = Number(m[1].replace(/,/g, '')) * (m[2] === 's' ? 1000 : 1);
    const ours = (doc.endTime - doc.startTime) / 1000;
    assert.ok(Math.abs(range - ours) <= ours * 0.01 + 1, `DevTools range ${range} ms, file ${ours} ms`);
    await page.evaluate(`(() => { ${DEEP} return clickTab('Bottom-up'); })()`);
    // burn's row, found by the grid's structure rather than by line offsets in the page text: a
    // data-grid row whose activity name is exactly 'burn' and that is not indented (a top-level
    // row; callers shown under an expanded row are indented), its cells mapped to columns by the
    // grid's own header (self-column, total-column). A row counts once both cells hold a time and a
    // share and two polls in a row read the same: DevTools has finished filling it.
    const rows = JSON.parse(await page.waitFor(`(() => { ${DEEP} const found = [];
      for (const n of deepAll(document.documentElement)) {
        if (n.tagName !== 'TR' || !n.classList.contains('data-grid-data-grid-node')) continue;
        const name = n.querySelector('.activity-name');
        if (!name || name.textContent.trim() !== 'burn') continue;
        const grid = n.closest('.data-grid');
        const heads = grid ? [...grid.querySelectorAll('th')].filter((th) => !th.classList.contains('top-filler-td')) : [];
        const cell = (id) => { const td = n.children[heads.findIndex((th) => th.classList.contains(id + '-column'))];
          const time = td && td.querySelector('span:not(.percent-column)'), share = td && td.querySelector('.percent-column');
          return { time: time ? time.textContent.trim() : '', share: share ? share.textContent.trim() : '' }; };
        const disclosure = n.querySelector('td.disclosure'), link = n.querySelector('.activity-link');
        if (disclosure && parseFloat(disclosure.style.paddingLeft) > 0) continue;
        found.push({ self: cell('self'), total: cell('total'), link: link ? link.textContent.trim() : '' });
      }
      if (!found.length || !found.every((r) => r.self.time && r.self.share && r.total.time && r.total.share)) return false;
      const now = JSON.stringify(found), same = window.lpBurnRows === now;
      window.lpBurnRows = now;
      return same && now; })()`, "burn's row in DevTools' Bottom-up grid"));
    assert.strictEqual(rows.length, 1, `one top-level Bottom-up row for burn: ${JSON.stringify(rows)}`);
    const [row] = rows;
    const toMs = (c) => {
      const v = c.replace(/\s+/g, ' ').match(/^([\d,.]+) ?(ms|s|\u00b5s|\u03bcs)$/);
      assert.ok(v, `a time cell: ${JSON.stringify(c)}`);
      return Number(v[1].replace(/,/g, '')) * { ms: 1, s: 1000, '\u00b5s': 1e-3, '\u03bcs': 1e-3 }[v[2]];
    };
    const toShare = (c) => {
      const v = c.replace(/\s+/g, ' ').match(/^([\d.]+) ?%$/);
      assert.ok(v, `a share cell: ${JSON.stringify(c)}`);
      return Number(v[1]) / 100;
    };
    const selfMs = toMs(row.self.time), totalMs = toMs(row.total.time);
    const cells = `row: self ${row.self.time} ${row.self.share}, total ${row.total.time} ${row.total.share}`;
    assert.ok(selfMs > 0 && selfMs <= totalMs && totalMs <= range * 1.01 + 1, `DevTools: burn's times in ${range} ms (${cells})`);
    // The two shares share one denominator: their ratio is that of the times, or the cells were not
    // read from one row.
    const ratio = toShare(row.self.share) / toShare(row.total.share);
    assert.ok(Math.abs(ratio - selfMs / totalMs) < 0.01, `DevTools: burn's cells disagree (${cells})`);
    // burn's self share of the profile, from DevTools' own numbers: its self time over the Full range
    // it showed above. Not its percentage cell: DevTools divides by the time it finds covered by
    // top-level calls, which it rounds wrongly. It turns each sample's stack into calls with ts and
    // dur both converted from float milliseconds, so a call's end (ts + dur) can land a fraction of
    // a microsecond after the next call starts; its Bottom-up nests that next call (even one of
    // 500 ms) inside the one that ended, takes it out of the top-level time, and every percentage
    // grows, for the same file by 1x to 1.6x depending only on the startTime (129.6% self for burn
    // once: "a row read mid-render gave 135.7%" was this). Self time is that of burn's own calls.
    const share = selfMs / range;
    t.diagnostic(`DevTools Bottom-up: burn ${cells}; ${selfMs} ms of ${range} ms = ${share.toFixed(4)}, pprof ${expected.toFixed(4)}`);
    assert.ok(Math.abs(share - expected) < 0.015,
      `DevTools: burn self ${selfMs} ms of ${range} ms = ${share.toFixed(4)}, pprof ${expected.toFixed(4)} (${cells})`);
    assert.match(row.link, /convert_app\.js:9/, 'DevTools shows the 1-based line');
    assert.deepStrictEqual(page.errors, [], 'DevTools logged errors');
  } finally {
    await page.close();
  }
});

test('html: self-contained, renders in Chromium, search highlights and totals, click zooms', async () => {
  const out = path.join(dir, 'app.html');
  convert([app, '-o', out]);
  const html = fs.readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\/|@import|<link\b/i, 'nothing fetched');
  const page = await browser.open(`file://${out}`);
  try {
    await page.waitFor(`document.documentElement.dataset.lpReady === '1'`, 'the flame graph');
    const painted = `(() => { const c = document.getElementById('lp-canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0, m = []; for (let i = 0; i < d.length; i += 4) { if (d[i + 3]) n++;
      if (d[i] === 0xe0 && d[i + 1] === 0x40 && d[i + 2] === 0xe0 && m.length < 1) m = [(i / 4) % c.width, Math.floor(i / 4 / c.width)]; }
      return { painted: n / (d.length / 4), magenta: m, dpr: window.devicePixelRatio, rect: c.getBoundingClientRect().toJSON() }; })()`;
    assert.ok((await page.evaluate(painted)).painted > 0.1, 'the canvas shows boxes');
    // Type into the search box like a person would.
    await page.evaluate(`document.getElementById('lp-search').focus()`);
    await page.send('Input.insertText', { text: 'burn' });
    const share = Number(await page.waitFor(`document.documentElement.dataset.lpMatchShare`, 'the search result'));
    const expected = lp.share(appTraces, (t) => t.frames.includes('burn'));
    assert.ok(Math.abs(share - expected) < 0.005, `search share ${share}, pprof ${expected}`);
    assert.match(await page.evaluate(`document.getElementById('lp-match').textContent`), /^Matched \d+(\.\d)?% of all/);
    const after = await page.evaluate(painted);
    assert.ok(after.magenta.length, 'matches are highlighted');
    const x = after.rect.x + after.magenta[0] / after.dpr + 1, y = after.rect.y + after.magenta[1] / after.dpr + 2;
    for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
      await page.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 });
    const crumb = await page.evaluate(`document.getElementById('lp-breadcrumb').lastChild.textContent`);
    assert.strictEqual(crumb, 'burn', 'clicking a highlighted box zooms into it');
    if (process.env.LOOPPERF_KEEP) await page.screenshot(path.join(dir, 'app.html.png'));
    assert.deepStrictEqual(page.errors, [], 'no console errors');
  } finally {
    await page.close();
  }
});

test('html: 100k samples from a hand-written pprof stay readable and searchable', async (t) => {
  const { bytes, withFn42 } = syntheticPprof(100000);
  const big = path.join(dir, 'big.pb.gz'), out = path.join(dir, 'big.html');
  fs.writeFileSync(big, bytes);
  convert([big, '-o', out]);
  const page = await browser.open(`file://${out}`);
  try {
    await page.waitFor(`document.documentElement.dataset.lpReady === '1'`, 'the big flame graph', 60000);
    const ds = await page.evaluate(`({ ...document.documentElement.dataset })`);
    assert.ok(Number(ds.lpInitMs) < 15000, `opened in ${ds.lpInitMs} ms`);
    t.diagnostic(`100k samples: opened in ${ds.lpInitMs} ms, drew ${ds.lpBoxes} boxes in ${ds.lpRenderMs} ms`);
    assert.ok(Number(ds.lpRenderMs) < 2000 && Number(ds.lpBoxes) > 500, `drew ${ds.lpBoxes} boxes in ${ds.lpRenderMs} ms`);
    await page.evaluate(`document.getElementById('lp-thread').value = '0'; document.getElementById('lp-thread').dispatchEvent(new Event('change'))`);
    await page.evaluate(`document.getElementById('lp-search').focus()`);
    await page.send('Input.insertText', { text: '^fn42$' });
    const share = Number(await page.waitFor(`document.documentElement.dataset.lpMatchShare`, 'the search result'));
    assert.ok(Math.abs(share - withFn42 / 100000) < 1e-9, `search share ${share}, expected ${withFn42 / 100000}`);
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await page.close();
  }
  // The unknown label of the other tool survives a filtered pprof → pprof conversion.
  const filtered = path.join(dir, 'big-main.pb.gz');
  convert([big, '-o', filtered, '--thread', 'main']);
  const ft = tags(filtered);
  assert.ok(ft.request_id && ft.request_id.total === ft.tid.total, 'request_id label kept');
  assert.deepStrictEqual(Object.keys(ft.role.by), ['main-loop']);
});

test('filters: pprof subsets whose totals match pprof-derived numbers', () => {
  const sub = path.join(dir, 'main-check.pb.gz');
  convert([app, '-o', sub, '--thread', 'main', '--phase', 'check']);
  const expected = sum(appTraces.filter((t) => isMain(t) && t.labels.phase === 'check'));
  const t = tags(sub);
  assert.strictEqual(t.phase.total, expected);
  assert.deepStrictEqual(Object.keys(t.phase.by), ['check']);
  assert.deepStrictEqual(Object.keys(t.role.by), ['main-loop']);

  const js = path.join(dir, 'js.pb.gz');
  convert([app, '-o', js, '--activity', 'js']);
  assert.strictEqual(tags(js).activity.total, tags(app).activity.by.js);

  const focus = path.join(dir, 'focus.pb.gz');
  convert([app, '-o', focus, '--focus', '^checkWork$']);
  assert.strictEqual(tags(focus).tid.total, tags(app, ['-focus=^checkWork$']).tid.total);
  assert.match(lp.pprof(['-raw', focus]), /loopperf:filter=focus=\^checkWork\$/);
});

test('other tools: pprof re-encoded by Go pprof, a Go runtime CPU profile, Node\'s pprof package', async () => {
  const goCopy = path.join(dir, 'go-copy.pb.gz');
  fs.writeFileSync(goCopy, spawnSync(lp.PPROF, ['-proto', app], { env: { ...process.env, HOME: os.tmpdir() } }).stdout);
  const folded = path.join(dir, 'go-copy.folded');
  convert([goCopy, '-o', folded]);
  const total = fs.readFileSync(folded, 'utf8').trim().split('\n').reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.strictEqual(total, tags(app).tid.total);

  // A real Go program profiling itself with runtime/pprof (standard library only, no network).
  const src = path.join(dir, 'spin.go'), bin = path.join(dir, 'spin'), prof = path.join(dir, 'go-cpu.pb.gz');
  fs.writeFileSync(src, `package main
import ("os"; "runtime/pprof"; "time")
func spinHot(n int) float64 { x := 0.0; for i := 0; i < n; i++ { x += float64(i%7) * 1.0001 }; return x }
func main() {
  f, _ := os.Create(os.Args[1]); pprof.StartCPUProfile(f); s := 0.0
  for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); { s += spinHot(100000) }
  pprof.StopCPUProfile(); f.Close(); if s < 0 { println(s) } }
`);
  const goEnv = { ...process.env, GO111MODULE: 'off', GOFLAGS: '', GOPROXY: 'off', GOPATH: path.join(dir, 'gopath'),
    GOCACHE: path.join(path.dirname(lp.LOOPPERF), '.gocache'), HOME: os.tmpdir() };
  const built = spawnSync('go', ['build', '-o', bin, src], { env: goEnv, encoding: 'utf8' });
  assert.strictEqual(built.status, 0, built.stderr);
  assert.strictEqual(spawnSync(bin, [prof]).status, 0);
  const goTotal = sum(lp.traces(prof));
  assert.ok(goTotal > 10, `Go profile samples ${goTotal}`);
  for (const ext of ['folded', 'speedscope.json', 'cpuprofile', 'html']) convert([prof, '-o', path.join(dir, `go.${ext}`)]);
  const lines = fs.readFileSync(path.join(dir, 'go.folded'), 'utf8').trim().split('\n');
  assert.strictEqual(lines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0), goTotal);
  assert.ok(lines.some((l) => l.includes('main.spinHot')) && lines.every((l) => !l.startsWith('all;')), 'Go frames, no thread element');
  validateSpeedscope(path.join(dir, 'go.speedscope.json'));
  assert.strictEqual(checkCpuprofile(path.join(dir, 'go.cpuprofile')).samples.length, goTotal);
  // Node's pprof package (@datadog/pprof): a wall-time profile with its own sample type names.
  const nodeProf = path.join(dir, 'node-wall.pb.gz');
  const made = spawnSync(process.execPath, [path.join(lp.TARGETS, 'convert_nodepprof.js'), TOOLS, nodeProf], { encoding: 'utf8' });
  assert.strictEqual(made.status, 0, made.stderr);
  const nodeTotal = Number(lp.pprof(['-top', '-sample_index=sample', nodeProf]).match(/of (\d+) total/)[1]);
  convert([nodeProf, '-o', path.join(dir, 'node.folded')]);
  const nodeLines = fs.readFileSync(path.join(dir, 'node.folded'), 'utf8').trim().split('\n');
  assert.strictEqual(nodeLines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0), nodeTotal);
  assert.ok(nodeLines.some((l) => /;nodePprofHot \d+$/.test(l)), 'the hot function is a leaf');
  convert([nodeProf, '-o', path.join(dir, 'node.speedscope.json')]);
  validateSpeedscope(path.join(dir, 'node.speedscope.json'));

  const page = await browser.open(`file://${path.join(dir, 'go.html')}`);
  try {
    await page.waitFor(`document.documentElement.dataset.lpReady === '1'`, 'the Go flame graph');
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test('record -o picks any writer; convert errors name the fix', async () => {
  const html = path.join(dir, 'rec.html');
  const r = lp.loopperf(['record', '-q', '-o', html, '--', process.execPath, path.join(lp.TARGETS, 'convert_app.js')],
    { cwd: dir, env: { ...process.env, DURATION_MS: '800' } });
  assert.strictEqual(r.status, 0, r.stderr);
  const page = await browser.open(`file://${html}`);
  try {
    await page.waitFor(`document.documentElement.dataset.lpReady === '1'`, 'the recorded flame graph');
    assert.match(await page.evaluate('document.title'), /^node convert_app\.js - loopperf flame graph$/);
    assert.deepStrictEqual(page.errors, []);
  } finally {
    await page.close();
  }

  let e = lp.loopperf(['convert', app, '-o', path.join(dir, 'x.json')]);
  assert.strictEqual(e.status, 2);
  assert.match(e.stderr, /hint: .*\.pb\.gz .*\.speedscope\.json .*\.cpuprofile .*\.folded .*\.html/);
  e = lp.loopperf(['convert', path.join(dir, 'missing.pb.gz'), '-o', path.join(dir, 'x.html')]);
  assert.strictEqual(e.status, 6, e.stderr);
  e = lp.loopperf(['convert', html, '-o', path.join(dir, 'x.folded')]);
  assert.strictEqual(e.status, 6, 'an HTML file is not a pprof file');
  e = lp.loopperf(['convert', app, '-o', path.join(dir, 'x.html'), '--phase', 'pool']);
  assert.strictEqual(e.status, 2);
  assert.match(e.stderr, /unknown phase 'pool'[\s\S]*hint: use one of: timers, pending/);
  e = lp.loopperf(['convert', app, '-o', path.join(dir, 'x.html'), '--thread', '999999']);
  assert.strictEqual(e.status, 2);
  assert.match(e.stderr, /hint: .*\[main-loop\]/);
  assert.ok(!fs.existsSync(path.join(dir, 'x.html')), 'nothing written on error');
});
