// loopperf's flame graph viewer. Reads the profile from the #lp-data element (written by
// src/formats/html_flamegraph.cpp) and draws it on one canvas, so that a profile with 100k samples
// and tens of thousands of distinct stacks stays responsive: boxes narrower than a pixel are not
// drawn (nor is anything below them), and hit testing uses the boxes drawn by the last frame.
// A diff profile (data.diff) is drawn as a red/green diff flame graph: widths max(base, head),
// colours by the change of each frame's share of all samples.
'use strict';
(function () {
  const startedAt = performance.now();
  const data = JSON.parse(document.getElementById('lp-data').textContent);
  const frames = data.frames;

  // Index = the kind number the writer stores per frame.
  const KINDS = [
    { name: 'JS', hue: 43, sat: 88, light: 60 },
    { name: 'native', hue: 14, sat: 78, light: 63 },
    { name: 'kernel', hue: 212, sat: 68, light: 66 },
    { name: 'V8 builtin', hue: 135, sat: 42, light: 60 },
    { name: 'GC', hue: 282, sat: 50, light: 66 },
    { name: 'unknown', hue: 0, sat: 0, light: 76 },
    { name: 'thread', hue: 205, sat: 16, light: 82 },
    { name: 'phase', hue: 0, sat: 0, light: 0 },  // drawn in the phase's own colour
    { name: 'all', hue: 205, sat: 10, light: 88 },
  ];
  const KIND_THREAD = 6, KIND_PHASE = 7, KIND_ROOT = 8;
  const PHASE_COLORS = {
    timers: '#f2a7a0', pending: '#f5c48e', idle: '#e9e29b', prepare: '#cbe69c', poll: '#92cbef',
    check: '#9fdfbb', close: '#c9b6ee', 'outside-loop': '#cdd2d8', unknown: '#e3e3e3',
  };
  const MATCH_COLOR = '#e040e0';
  const NEUTRAL_COLOR = 'hsl(60, 4%, 85%)';  // diff: a share that moved by less than NEUTRAL_PP
  const NEUTRAL_PP = 0.001;
  const MIN_FULL_PP = 0.05;  // diff: full colour at the largest change, but never below 5 pp
  const ROW = 18;          // px per stack level
  const MIN_WIDTH = 0.35;  // px; narrower boxes (and their subtrees) are skipped
  const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

  // ---- The tree: (frame, child count, width[, head, base]) tuples, the writer's postorder: read
  // from the end, they are the preorder. Decoded into flat arrays in preorder. --------------------
  const diff = data.diff || null;
  const stride = diff ? 5 : 3;
  const tuples = data.tree;
  const count = tuples.length / stride;
  const at = (i, k) => tuples[(count - 1 - i) * stride + k];
  const frameOf = new Int32Array(count);
  const total = new Float64Array(count);
  const start = new Float64Array(count);  // left edge, in value units from the root's left edge
  const depth = new Int32Array(count);
  const parent = new Int32Array(count);
  const size = new Int32Array(count);     // nodes in the subtree, itself included
  // Shares are of head's samples (and base's, for a diff); `total` is the drawn width, which for an
  // ordinary profile is the same array.
  const head = diff ? new Float64Array(count) : total;
  const base = diff ? new Float64Array(count) : null;
  let maxDepth = 0;
  {
    const open = [], left = [], cursor = [];
    for (let i = 0; i < count; i++) {
      frameOf[i] = at(i, 0);
      total[i] = at(i, 2);
      if (diff) {
        head[i] = at(i, 3);
        base[i] = at(i, 4);
      }
      if (open.length) {
        const top = open.length - 1;
        parent[i] = open[top];
        start[i] = cursor[top];
        cursor[top] += total[i];
        left[top]--;
        depth[i] = depth[parent[i]] + 1;
        if (depth[i] > maxDepth) maxDepth = depth[i];
      } else {
        parent[i] = -1;
      }
      open.push(i);
      left.push(at(i, 1));
      cursor.push(start[i]);
      while (open.length && left[left.length - 1] === 0) {
        const done = open.pop();
        left.pop();
        cursor.pop();
        size[done] = i - done + 1;
      }
    }
  }
  const hasThreads = data.threads.length > 0 && count > 1 && frameOf[1] >= 0 && frames.kind[frameOf[1]] === KIND_THREAD;

  const nameOf = (i) => (frameOf[i] < 0 ? (hasThreads ? 'all threads' : 'all') : frames.name[frameOf[i]]);
  const kindOf = (i) => (frameOf[i] < 0 ? KIND_ROOT : frames.kind[frameOf[i]]);
  function selfOf(i, of = head) {
    let s = of[i];
    for (let c = i + 1, end = i + size[i]; c < end; c += size[c]) s -= of[c];
    return s;
  }
  function* children(i) {
    for (let c = i + 1, end = i + size[i]; c < end; c += size[c]) yield c;
  }

  // ---- Formatting. ---------------------------------------------------------------------------
  const nf = new Intl.NumberFormat('en-US');
  const pct = (part, whole) => (whole > 0 ? (100 * part / whole).toFixed(part === whole ? 0 : 1) + '%' : '-');
  function seconds(ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(2) + ' s';
    if (ns >= 1e6) return (ns / 1e6).toFixed(1) + ' ms';
    return (ns / 1e3).toFixed(0) + ' µs';
  }
  function amount(v) {
    if (data.valueUnit === 'nanoseconds') return seconds(v);
    const unit = data.valueUnit === 'count' ? (data.valueType || 'samples') : data.valueUnit;
    let s = nf.format(v) + ' ' + unit;
    if (data.periodNs > 0) s += ' ≈ ' + seconds(v * data.periodNs);
    return s;
  }
  function hashName(s) {
    let h = 2166136261;
    for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 16777619);
    return (h >>> 0) / 4294967296;
  }
  // ---- Diff: the change of a node's share of all samples, head minus base. ----------------------
  const share = (v, whole) => (whole > 0 ? v / whole : 0);
  const changeOf = (i) => share(head[i], head[0]) - share(base[i], base[0]);
  const pp = (d) => (d >= 0 ? '+' : '-') + Math.abs(100 * d).toFixed(1) + ' pp';
  let fullScale = MIN_FULL_PP;
  if (diff) for (let i = 1; i < count; i++) fullScale = Math.max(fullScale, Math.abs(changeOf(i)));
  // Red grew, green shrank; paler the smaller the change against the largest one (linear, so the
  // eye compares magnitudes), grey for no change worth a colour.
  function diffColor(d) {
    if (Math.abs(d) < NEUTRAL_PP) return NEUTRAL_COLOR;
    const t = Math.min(Math.abs(d) / fullScale, 1);
    return d > 0 ? `hsl(0, ${(45 + 40 * t).toFixed(0)}%, ${(88 - 36 * t).toFixed(1)}%)`
      : `hsl(130, ${(35 + 35 * t).toFixed(0)}%, ${(88 - 38 * t).toFixed(1)}%)`;
  }
  // Base's values were scaled to head's total; divided back, they are base's own samples.
  const baseAmount = (v) => (diff.baseScale > 0 ? amount(Math.round(v / diff.baseScale)) : amount(v) + ' (scaled to head)');

  const colorCache = new Map();
  function colorOf(i) {
    if (diff) return i === 0 ? NEUTRAL_COLOR : diffColor(changeOf(i));
    const kind = kindOf(i);
    const name = nameOf(i);
    if (kind === KIND_PHASE) return PHASE_COLORS[name.slice(1, -1)] || PHASE_COLORS.unknown;
    const key = kind + '\u0000' + name;
    let c = colorCache.get(key);
    if (!c) {
      // A small lightness jitter per name keeps neighbours of one kind apart, as flamegraph.pl does.
      const k = KINDS[kind];
      const jitter = kind >= KIND_THREAD ? 0 : (hashName(name) - 0.5) * 14;
      c = `hsl(${k.hue}, ${k.sat}%, ${(k.light + jitter).toFixed(1)}%)`;
      colorCache.set(key, c);
    }
    return c;
  }

  // ---- Elements and view state. --------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const canvas = $('lp-canvas'), tooltip = $('lp-tooltip'), search = $('lp-search'), matchInfo = $('lp-match');
  const threadSelect = $('lp-thread'), phaseStrip = $('lp-phases'), breadcrumb = $('lp-breadcrumb');
  const ctx = canvas.getContext('2d');
  let zoom = 0;
  let flame = false;       // false: icicle (root on top); true: flame (root at the bottom)
  let matched = null;      // Uint8Array per node while a search is active
  let rows = [];           // per depth: flat [x, width, node, ...] of the boxes drawn last
  let hovered = -1;

  ctx.font = FONT;
  const charWidth = ctx.measureText('MMMMMMMMMM').width / 10 || 7;

  function threadNodeOf(i) {
    if (!hasThreads) return -1;
    while (i > 0 && depth[i] > 1) i = parent[i];
    return i > 0 ? i : -1;
  }

  // ---- Drawing. ------------------------------------------------------------------------------
  function render() {
    const t0 = performance.now();
    const cssWidth = canvas.clientWidth || document.documentElement.clientWidth - 24;
    const cssHeight = (maxDepth + 1) * ROW;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(cssWidth * dpr) || canvas.height !== Math.round(cssHeight * dpr)) {
      canvas.width = Math.round(cssWidth * dpr);
      canvas.height = Math.round(cssHeight * dpr);
      canvas.style.height = cssHeight + 'px';
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    rows = Array.from({ length: maxDepth + 1 }, () => []);

    const origin = start[zoom], span = total[zoom] || 1, scale = cssWidth / span;
    let drawn = 0;
    const box = (i, x, w, faded) => {
      const y = flame ? (maxDepth - depth[i]) * ROW : depth[i] * ROW;
      ctx.globalAlpha = faded ? 0.55 : 1;
      ctx.fillStyle = matched && matched[i] ? MATCH_COLOR : colorOf(i);
      ctx.fillRect(x, y + 0.5, Math.max(w - 0.5, 0.5), ROW - 1);
      if (i === hovered) {
        ctx.strokeStyle = '#1d2329';
        ctx.strokeRect(x + 0.5, y + 1, Math.max(w - 1.5, 0.5), ROW - 2);
      }
      if (w > charWidth * 3) {
        const name = nameOf(i);
        const fit = Math.floor((w - 6) / charWidth);
        ctx.fillStyle = '#111';
        ctx.fillText(name.length > fit ? name.slice(0, Math.max(fit - 1, 1)) + '…' : name, x + 3, y + ROW / 2 + 0.5);
      }
      ctx.globalAlpha = 1;
      rows[depth[i]].push(x, w, i);
      drawn++;
    };
    // Ancestors of the zoomed node span the whole width, faded: they are context, not data.
    const ancestors = [];
    for (let a = parent[zoom]; a !== -1; a = parent[a]) ancestors.push(a);
    for (let k = ancestors.length - 1; k >= 0; k--) box(ancestors[k], 0, cssWidth, true);
    const visit = (i) => {
      const w = total[i] * scale;
      if (w < MIN_WIDTH) return;
      box(i, (start[i] - origin) * scale, w, false);
      for (let c = i + 1, end = i + size[i]; c < end; c += size[c]) visit(c);
    };
    visit(zoom);
    document.documentElement.dataset.lpBoxes = String(drawn);
    document.documentElement.dataset.lpRenderMs = (performance.now() - t0).toFixed(1);
  }

  let pending = false;
  function scheduleRender() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  }

  // ---- Zoom, breadcrumb, thread picker and phase strip follow the zoomed node. -------------------
  function setZoom(i) {
    zoom = i;
    hovered = -1;
    tooltip.hidden = true;
    const path = [];
    for (let a = i; a !== -1; a = parent[a]) path.unshift(a);
    breadcrumb.textContent = '';
    path.forEach((n, k) => {
      if (k) breadcrumb.append(' › ');
      const link = document.createElement('a');
      link.textContent = nameOf(n);
      link.title = amount(head[n]) + ', ' + pct(head[n], head[0]) + ' of all' + (diff ? ` (base ${pct(base[n], base[0])})` : '');
      link.addEventListener('click', () => setZoom(n));
      breadcrumb.append(link);
    });
    const thread = threadNodeOf(i);
    threadSelect.value = String(thread > 0 ? thread : 0);
    updatePhaseStrip(thread, phaseOf(i));
    updateMatchInfo();
    render();
  }

  function fillThreadPicker() {
    const all = document.createElement('option');
    all.value = '0';
    all.textContent = hasThreads ? 'All threads' : 'All samples';
    threadSelect.append(all);
    if (hasThreads) {
      for (const c of children(0)) {
        const o = document.createElement('option');
        o.value = String(c);
        const role = frames.file[frameOf[c]];
        o.textContent = nameOf(c) + (role ? ' · ' + role : '') + ' · ' + pct(head[c], head[0]) + (diff ? ` (base ${pct(base[c], base[0])})` : '');
        threadSelect.append(o);
      }
    }
    threadSelect.addEventListener('change', () => setZoom(Number(threadSelect.value)));
  }

  function phaseTotals(threadNode, key = 'phases') {
    const sums = new Map();
    for (const t of data.threads) {
      if (threadNode > 0 && t.label !== nameOf(threadNode)) continue;
      for (const [phase, v] of t[key]) sums.set(phase, (sums.get(phase) || 0) + v);
    }
    const order = Object.keys(PHASE_COLORS);
    const rank = (p) => (order.indexOf(p) < 0 ? order.length : order.indexOf(p));
    return [...sums.entries()].sort((a, b) => rank(a[0]) - rank(b[0]));
  }

  // The phase the zoomed node belongs to ("" above the phase level or without phase roots).
  function phaseOf(i) {
    for (let a = i; a > 0; a = parent[a]) if (kindOf(a) === KIND_PHASE) return nameOf(a).slice(1, -1);
    return '';
  }

  function updatePhaseStrip(threadNode, current) {
    phaseStrip.textContent = '';
    const phases = phaseTotals(threadNode);
    const sum = phases.reduce((a, [, v]) => a + v, 0);
    const basePhases = diff ? new Map(phaseTotals(threadNode, 'basePhases')) : null;
    const baseSum = diff ? [...basePhases.values()].reduce((a, v) => a + v, 0) : 0;
    $('lp-phases-row').hidden = sum === 0;
    for (const [phase, v] of phases) {
      const seg = document.createElement('div');
      seg.className = phase === current ? 'lp-phase lp-current' : 'lp-phase';
      seg.setAttribute('role', 'listitem');
      seg.style.width = (100 * v / sum) + '%';
      seg.style.background = PHASE_COLORS[phase] || PHASE_COLORS.unknown;
      if (v / sum >= 0.06) seg.textContent = phase + ' ' + pct(v, sum);  // narrow ones: hover
      seg.title = `${phase}: ${pct(v, sum)} (${amount(v)})` + (threadNode > 0 ? ' of ' + nameOf(threadNode) : ' of all threads') +
        (diff ? `; base ${pct(basePhases.get(phase) || 0, baseSum)}` : '');
      seg.addEventListener('click', () => focusPhase(threadNode, phase));
      phaseStrip.append(seg);
    }
  }

  // A phase segment zooms to that phase's root under the thread, or highlights it in every thread.
  function focusPhase(threadNode, phase) {
    const label = '[' + phase + ']';
    if (threadNode > 0 && data.phaseRoots) {
      for (const c of children(threadNode)) if (nameOf(c) === label) return setZoom(c);
    }
    search.value = '^' + label.replace(/[[\]\\^$.|?*+(){}-]/g, '\\$&') + '$';
    applySearch();
  }

  // ---- Search. -------------------------------------------------------------------------------
  function applySearch() {
    const q = search.value;
    search.classList.remove('lp-bad');
    if (!q) {
      matched = null;
      updateMatchInfo();
      render();
      return;
    }
    let re;
    try {
      re = new RegExp(q, 'i');
    } catch (e) {
      // Half-typed patterns ("foo(") still search, as plain text, until they parse.
      search.classList.add('lp-bad');
      re = new RegExp(q.replace(/[[\]\\^$.|?*+(){}-]/g, '\\$&'), 'i');
    }
    const frameHit = new Uint8Array(frames.name.length);
    for (let f = 0; f < frameHit.length; f++) frameHit[f] = re.test(frames.name[f]) ? 1 : 0;
    matched = new Uint8Array(count);
    for (let i = 1; i < count; i++) matched[i] = frameOf[i] >= 0 && frameHit[frameOf[i]];
    updateMatchInfo();
    render();
  }

  // Share of samples with a matching frame: topmost matches only, so recursion is not counted twice.
  function matchedTotal(root, of = head) {
    for (let a = root; a !== -1; a = parent[a]) if (matched[a]) return of[root];
    let sum = 0;
    for (let i = root, end = root + size[root]; i < end;) {
      if (matched[i]) {
        sum += of[i];
        i += size[i];
      } else {
        i++;
      }
    }
    return sum;
  }

  function updateMatchInfo() {
    if (!matched) {
      matchInfo.textContent = '';
      matchInfo.className = '';
      delete document.documentElement.dataset.lpMatchShare;
      delete document.documentElement.dataset.lpMatchBaseShare;
      return;
    }
    const all = matchedTotal(0);
    const baseAll = diff ? matchedTotal(0, base) : 0;
    let text = `Matched ${pct(all, head[0])} of all (${amount(all)})`;
    if (diff) text = `Matched head ${pct(all, head[0])} · base ${pct(baseAll, base[0])} of all (${pp(share(all, head[0]) - share(baseAll, base[0]))})`;
    if (zoom !== 0) text += diff ? `, head ${pct(matchedTotal(zoom), head[zoom])} · base ${pct(matchedTotal(zoom, base), base[zoom])} of view`
      : `, ${pct(matchedTotal(zoom), head[zoom])} of view`;
    matchInfo.textContent = all > 0 || baseAll > 0 ? text : 'No match';
    matchInfo.className = all > 0 || baseAll > 0 ? 'lp-hit' : '';
    document.documentElement.dataset.lpMatchShare = String(share(all, head[0]));
    if (diff) document.documentElement.dataset.lpMatchBaseShare = String(share(baseAll, base[0]));
  }

  // ---- Pointer. ------------------------------------------------------------------------------
  function nodeAt(event) {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    let d = Math.floor(y / ROW);
    if (flame) d = maxDepth - d;
    const row = rows[d];
    if (!row) return -1;
    for (let k = 0; k < row.length; k += 3) if (x >= row[k] && x < row[k] + row[k + 1]) return row[k + 2];
    return -1;
  }

  function showTooltip(i, event) {
    const f = frameOf[i];
    const lines = [`<div class="lp-name"></div>`];
    tooltip.innerHTML = lines.join('');
    tooltip.firstChild.textContent = nameOf(i);
    const add = (text, cls) => {
      const div = document.createElement('div');
      if (cls) div.className = cls;
      div.textContent = text;
      tooltip.append(div);
    };
    const kind = kindOf(i);
    let where = KINDS[kind].name;
    if (f >= 0 && kind !== KIND_THREAD && frames.file[f]) where += ' · ' + frames.file[f] + (frames.line[f] > 0 ? ':' + frames.line[f] : '');
    if (kind === KIND_THREAD && frames.file[f]) where += ' · ' + frames.file[f];
    add(where, 'lp-dim');
    if (diff) {
      diffTooltip(i, add);
    } else {
      let text = `${amount(total[i])} · ${pct(total[i], total[0])} of all`;
      if (zoom !== 0) text += ` · ${pct(total[i], total[zoom])} of view`;
      add('Total: ' + text);
      const self = selfOf(i);
      if (self > 0) add(`Self: ${amount(self)} · ${pct(self, total[0])} of all`);
    }
    add(matched && matched[i] ? 'Matches the search' : 'Click to zoom', 'lp-dim');
    tooltip.hidden = false;
    const pad = 14, w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    const left = event.clientX + pad + w > window.innerWidth ? event.clientX - w - pad : event.clientX + pad;
    const top = event.clientY + pad + h > window.innerHeight ? event.clientY - h - pad : event.clientY + pad;
    tooltip.style.left = Math.max(0, left) + 'px';
    tooltip.style.top = Math.max(0, top) + 'px';
  }

  function diffTooltip(i, add) {
    const view = (of) => (zoom !== 0 ? ` · ${pct(of[i], of[zoom])} of view` : '');
    add(`Head: ${pct(head[i], head[0])} of all · ${amount(head[i])}${view(head)}`);
    add(`Base: ${pct(base[i], base[0])} of all · ${baseAmount(base[i])}${view(base)}`);
    const d = changeOf(i);
    add(`Change: ${pp(d)} of all` + (Math.abs(d) < NEUTRAL_PP ? ' (about the same)' : d > 0 ? ' (grew)' : ' (shrank)'));
    const hs = selfOf(i), bs = selfOf(i, base);
    if (hs > 0 || bs > 0) add(`Self: head ${pct(hs, head[0])} · base ${pct(bs, base[0])} (${pp(share(hs, head[0]) - share(bs, base[0]))})`);
    // Say what the width stands for when it is not head's samples.
    if (total[i] > head[i]) add(head[i] === 0 ? 'Drawn at its base size: gone in head' : total[i] === base[i]
      ? 'Drawn at its base size (larger than head\'s)' : 'Drawn wider than both sides, so that its callees fit', 'lp-dim');
  }

  canvas.addEventListener('mousemove', (event) => {
    const i = nodeAt(event);
    if (i !== hovered) {
      hovered = i;
      scheduleRender();
    }
    if (i < 0) tooltip.hidden = true;
    else showTooltip(i, event);
  });
  canvas.addEventListener('mouseleave', () => {
    hovered = -1;
    tooltip.hidden = true;
    scheduleRender();
  });
  canvas.addEventListener('click', (event) => {
    const i = nodeAt(event);
    if (i >= 0) setZoom(i === zoom && parent[i] !== -1 ? parent[i] : i);
  });

  // ---- Controls. -----------------------------------------------------------------------------
  search.addEventListener('input', applySearch);
  $('lp-reset').addEventListener('click', () => setZoom(0));
  $('lp-layout').addEventListener('click', (event) => {
    flame = !flame;
    event.target.textContent = flame ? 'Icicle layout' : 'Flame layout';
    render();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      if (document.activeElement === search && search.value) {
        search.value = '';
        applySearch();
      } else {
        setZoom(0);
      }
    } else if (event.key === '/' && document.activeElement !== search) {
      event.preventDefault();
      search.focus();
    }
  });
  window.addEventListener('resize', scheduleRender);

  function fillLegend() {
    const legend = $('lp-legend');
    const item = (...parts) => legend.appendChild(document.createElement('span')).append(...parts);
    const swatch = (color) => Object.assign(document.createElement('span'), { className: 'lp-swatch', style: `background: ${color}` });
    if (diff) {
      item('shrank ', ...[-1, -0.5, -0.15, 0, 0.15, 0.5, 1].map((t) => swatch(t ? diffColor(t * fullScale) : NEUTRAL_COLOR)), ' grew');
      item(`colour: change of the frame's share of all samples, head − base; full at ±${(100 * fullScale).toFixed(1)} pp, grey within ±${100 * NEUTRAL_PP} pp`);
      item('width: max(base, head), so frames gone in head stay visible');
    } else {
      const present = new Set(frames.kind);
      KINDS.forEach((k, index) => {
        if (present.has(index) && index < KIND_THREAD) item(swatch(`hsl(${k.hue}, ${k.sat}%, ${k.light}%)`), k.name);
      });
    }
    item(swatch(MATCH_COLOR), 'search match');
    const side = (file, cmd) => (file || 'profile') + (cmd ? ` (${cmd})` : '');
    item(!diff ? `${amount(total[0])} in total`
      : `base ${side(diff.baseFile, diff.baseCmdline)}: ${baseAmount(base[0])} · head ${side(diff.headFile, '')}: ${amount(head[0])}`);
  }

  // For scripted checks (tests, CI): the boxes drawn last, with their colour and shares.
  window.lpFlamegraph = {
    boxes: () => rows.flatMap((row, d) => Array.from({ length: row.length / 3 }, (_, k) => {
      const i = row[3 * k + 2];
      return { node: i, name: nameOf(i), x: row[3 * k], y: flame ? (maxDepth - d) * ROW : d * ROW, w: row[3 * k + 1], h: ROW,
        fill: matched && matched[i] ? MATCH_COLOR : colorOf(i), headShare: share(head[i], head[0]), baseShare: diff ? share(base[i], base[0]) : null };
    })),
  };

  fillThreadPicker();
  fillLegend();
  // "#search=REGEX" opens the page with a search applied (links in tickets, chat).
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('search')) search.value = hash.get('search');
  if (search.value) applySearch();
  // Open on the main loop thread when there is one: that is what loopperf is about.
  let first = 0;
  if (hasThreads) for (const c of children(0)) if (frames.file[frameOf[c]] === 'main-loop') { first = c; break; }
  setZoom(first);
  // For scripted checks (tests, CI): the page is drawn and interactive.
  document.documentElement.dataset.lpInitMs = (performance.now() - startedAt).toFixed(1);
  document.documentElement.dataset.lpReady = '1';
})();
