// Headless Chromium over the DevTools protocol, for the tests that check what a person sees (the HTML
// flame graph, speedscope, Chrome DevTools). The tools come from scripts/install-test-tools.sh.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const lp = require('./lib');

const TOOLS = process.env.LOOPPERF_TEST_TOOLS || path.join(path.dirname(lp.LOOPPERF), 'test-tools', 'node_modules');
function tool(name) {
  try {
    return require(path.join(TOOLS, name));
  } catch (e) {
    throw new Error(`${name} not found in ${TOOLS}: run scripts/install-test-tools.sh (${e.message})`);
  }
}
const SPEEDSCOPE = path.join(TOOLS, 'speedscope', 'dist', 'release');

async function launchBrowser() {
  const WebSocket = tool('ws');
  const profileDir = lp.tmpdir('chromium');
  const child = spawn(process.env.CHROMIUM || 'chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', `--user-data-dir=${profileDir}`,
    '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', '--window-size=1400,900', 'about:blank',
  // Its temporary files go inside the profile directory, so that nothing outlives the test.
  ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: profileDir } });
  process.on('exit', () => { try { child.kill('SIGKILL'); } catch {} });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  const wsUrl = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = stderr.match(/DevTools listening on (ws:\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`chromium exited ${code}: ${stderr}`)));
  });
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let nextId = 1;
  const waiting = new Map(), listeners = new Set();
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString('utf8'));
    const w = msg.id && waiting.get(msg.id);
    if (w) {
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`${w.method}: ${msg.error.message}`));
      else w.resolve(msg.result);
    } else {
      for (const l of listeners) l(msg);
    }
  });
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject, method });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });

  async function open(url) {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const errors = [];
    let loaded = null;
    const onLoad = new Promise((resolve) => { loaded = resolve; });
    const listener = (m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params;
      if (m.method === 'Page.loadEventFired') loaded();
      if (m.method === 'Runtime.exceptionThrown') errors.push(p.exceptionDetails.exception?.description || p.exceptionDetails.text);
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
        errors.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description).join(' ')}`);
      // DevTools' own page asks its server for a favicon it does not have; that is not ours.
      if (m.method === 'Log.entryAdded' && p.entry.level === 'error' && !/favicon\.ico$/.test(p.entry.url || ''))
        errors.push(`${p.entry.source}: ${p.entry.text} ${p.entry.url || ''}`);
    };
    listeners.add(listener);
    const s = (method, params) => send(method, params, sessionId);
    await Promise.all([s('Runtime.enable'), s('Log.enable'), s('Page.enable')]);
    await s('Page.navigate', { url });
    await onLoad;
    const evaluate = async (expression) => {
      const r = await s('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
      return r.result.value;
    };
    const waitFor = async (expression, what, timeoutMs = 30000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await evaluate(expression);
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; page errors: ${errors.join('; ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const screenshot = async (file) => fs.writeFileSync(file, Buffer.from((await s('Page.captureScreenshot', { format: 'png' })).data, 'base64'));
    const close = async () => { listeners.delete(listener); await send('Target.closeTarget', { targetId }); };
    return { send: s, evaluate, waitFor, screenshot, errors, close };
  }
  const devtools = () => `http://${new URL(wsUrl).host}/devtools`;
  async function close() {
    // A graceful close lets Chromium's helper processes finish with the profile directory.
    send('Browser.close').catch(() => {});
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    ws.terminate();
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(profileDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
  return { open, devtools, close };
}

module.exports = { TOOLS, tool, launchBrowser };
