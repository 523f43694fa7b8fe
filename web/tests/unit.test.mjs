// Tests without a browser: the dictionaries, the SSE parser, plates and times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import en from '../src/i18n/en.js';
import vi from '../src/i18n/vi.js';
import zh from '../src/i18n/zh.js';
import { readEventStream } from '../src/feed.js';
import { checkPlate } from '../src/plate.js';
import { fmtTime, zoneLabel, localInputToIso } from '../src/time.js';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

test('the three dictionaries have the same keys and every key used exists', () => {
  assert.deepEqual(Object.keys(vi).sort(), Object.keys(en).sort());
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  const used = new Set();
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory()) walk(p);
      else if (p.endsWith('.js')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\bt\('([a-zA-Z]+\.[a-zA-Z_]+)'/g)) used.add(m[1]);
    }
  };
  walk(SRC);
  const missing = [...used].filter((k) => !(k in en));
  assert.deepEqual(missing, []);
  for (const [k, v] of Object.entries(vi)) assert.ok(v.trim() !== '', `vi ${k} is empty`);
  for (const [k, v] of Object.entries(zh)) assert.ok(v.trim() !== '', `zh ${k} is empty`);
});

function streamOf(chunks) {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

test('the SSE parser handles ids, events, comments, CRLF and split chunks', async () => {
  const events = [];
  const comments = [];
  await readEventStream(
    streamOf(['event: hello\nid: 7\ndata: {"head"', ': 7}\n\n: keep-alive\n\r\nevent: crossing\r\nid: 8\r\ndata: {"seq":8}\r\n\r\n', 'event: link\ndata: {"up":', 'false}\n\ndata: a\ndata: b\n\n']),
    (e) => events.push(e),
    (c) => comments.push(c),
  );
  assert.deepEqual(events, [
    { event: 'hello', data: '{"head": 7}', id: '7' },
    { event: 'crossing', data: '{"seq":8}', id: '8' },
    { event: 'link', data: '{"up":false}', id: undefined },
    { event: 'message', data: 'a\nb', id: undefined },
  ]);
  assert.deepEqual(comments, ['keep-alive']);
});

test('plates are checked as the server does', () => {
  assert.deepEqual(checkPlate('12c 34567'), { ok: true, display: '12C-345.67', country: 'VN' });
  assert.deepEqual(checkPlate('12C-1234'), { ok: true, display: '12C-1234', country: 'VN' });
  assert.equal(checkPlate('桂F12345').display, '桂F·12345');
  assert.equal(checkPlate('桂FD12345').ok, true);
  assert.equal(checkPlate('桂F1234挂').ok, true);
  assert.equal(checkPlate('13C-123.45').ok, false);
  assert.equal(checkPlate('12C-123').ok, false);
  assert.equal(checkPlate('桂F12O45').ok, false);
  assert.equal(checkPlate('ABC').ok, false);
});

test('times are shown in the gate side’s zone with its name', () => {
  const vn = { country: 'VN', utc_offset: '+07:00' };
  const cn = { country: 'CN', utc_offset: '+08:00' };
  assert.equal(zoneLabel(vn), 'ICT (UTC+7)');
  assert.equal(zoneLabel(cn), 'CST (UTC+8)');
  assert.equal(fmtTime('2026-11-29T07:05:00Z', vn, { date: false }), '14:05 ICT (UTC+7)');
  assert.equal(fmtTime('2026-11-29T07:05:00Z', cn, { date: true }), '29/11 15:05 CST (UTC+8)');
  assert.equal(localInputToIso('2026-11-29T14:05', vn), '2026-11-29T14:05:00+07:00');
});
