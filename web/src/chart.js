// Capacity plan against actual throughput: an inline SVG, one group per 15-minute bucket.
// buckets: [{start, effective, planned, actual}], now: ms; labels: {plan, planned, actual, title}.
import { localParts } from './time.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function capacityChart(buckets, { side, now, labels }) {
  const W = 720;
  const H = 240;
  const L = 36;
  const R = 10;
  const T = 28;
  const B = 34;
  const n = Math.max(buckets.length, 1);
  const max = Math.max(4, ...buckets.map((b) => Math.max(b.effective || 0, b.planned || 0, b.actual || 0)));
  const bw = (W - L - R) / n;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc' });
  svg.append(s('title', { id: 'chart-title' }, labels.title));
  const total = (k) => buckets.reduce((a, b) => a + (b[k] || 0), 0);
  svg.append(s('desc', { id: 'chart-desc' }, `${labels.plan}: ${total('effective')}; ${labels.planned}: ${total('planned')}; ${labels.actual}: ${total('actual')}`));
  for (let v = 0; v <= max; v += Math.max(1, Math.ceil(max / 4))) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v));
  }
  let path = '';
  buckets.forEach((b, i) => {
    const x = L + i * bw;
    const start = Date.parse(b.start);
    if (b.planned) svg.append(s('rect', { x: x + bw * 0.15, y: y(b.planned), width: bw * 0.35, height: y(0) - y(b.planned), class: 'planned' }));
    if (b.actual) svg.append(s('rect', { x: x + bw * 0.5, y: y(b.actual), width: bw * 0.35, height: y(0) - y(b.actual), class: 'actual' }));
    path += `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y(b.effective || 0).toFixed(1)}L${(x + bw).toFixed(1)},${y(b.effective || 0).toFixed(1)}`;
    const p = localParts(start, side);
    if (p && p.mi === 0) {
      svg.append(s('line', { x1: x, x2: x, y1: y(0), y2: y(0) + 4, class: 'tick' }));
      svg.append(s('text', { x, y: H - B + 18, 'text-anchor': 'middle', class: 'axis' }, `${String(p.h).padStart(2, '0')}:00`));
    }
    if (now >= start && now < start + 15 * 60000) {
      svg.append(s('line', { x1: x + bw * ((now - start) / 900000), x2: x + bw * ((now - start) / 900000), y1: T - 4, y2: y(0), class: 'now' }));
    }
  });
  svg.append(s('path', { d: path, class: 'plan' }));
  // legend
  const lg = s('g', { class: 'legend', transform: `translate(${L},12)` });
  lg.append(s('line', { x1: 0, x2: 18, y1: 0, y2: 0, class: 'plan' }), s('text', { x: 22, y: 4 }, labels.plan));
  lg.append(s('rect', { x: 180, y: -6, width: 12, height: 12, class: 'planned' }), s('text', { x: 196, y: 4 }, labels.planned));
  lg.append(s('rect', { x: 360, y: -6, width: 12, height: 12, class: 'actual' }), s('text', { x: 376, y: 4 }, labels.actual));
  svg.append(lg);
  return svg;
}
