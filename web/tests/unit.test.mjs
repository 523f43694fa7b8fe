// Tests without a browser: the dictionaries, the SSE parser, plates and times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import en from '../src/i18n/en.js';
import vi from '../src/i18n/vi.js';
import zh from '../src/i18n/zh.js';
import { readEventStream, openFeed } from '../src/feed.js';
import { checkPlate } from '../src/plate.js';
import { fmtTime, zoneLabel, zoneText, localInputToIso, minutesText } from '../src/time.js';
import { t, setLang } from '../src/i18n.js';
import { ApiError } from '../src/api.js';
import { errorText, fieldLabel, readReasonText, FIELD_LABELS, KNOWN_CODES } from '../src/errors.js';

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

test('minutes are rounded before they are split into hours', () => {
  setLang('en');
  assert.equal(minutesText(59.4, t), '59 min');
  assert.equal(minutesText(59.6, t), '1 h 0 min');
  assert.equal(minutesText(119.6, t), '2 h 0 min');
  assert.equal(minutesText(90.2, t), '1 h 30 min');
  assert.equal(minutesText(0, t), '0 min');
  assert.equal(minutesText(null, t), '—');
});

test('dates follow the reader’s order and zone labels never nest brackets', () => {
  const cn = { country: 'CN', utc_offset: '+08:00' };
  const vn = { country: 'VN', utc_offset: '+07:00' };
  assert.equal(fmtTime('2026-11-29T07:05:00Z', cn, { date: true, lang: 'zh' }), '11月29日 15:05 CST (UTC+8)');
  assert.equal(fmtTime('2026-11-29T07:05:00Z', vn, { date: true, lang: 'vi' }), '29/11 14:05 ICT (UTC+7)');
  assert.equal(zoneText(vn), 'ICT, UTC+7');
  assert.equal(zoneText({ country: 'XX', utc_offset: '+05:30' }), 'UTC+5:30');
});

test('API errors are told in the reader’s language, the server text only for unknown codes', () => {
  for (const code of KNOWN_CODES) for (const lang of ['en', 'vi', 'zh']) assert.ok(`error.${code}` in { en, vi, zh }[lang], `${lang}: error.${code}`);
  for (const key of Object.values(FIELD_LABELS)) assert.ok(key in en, key);
  setLang('vi');
  const tooLong = new ApiError(400, { code: 'field_too_long', field: 'driver.name', detail: "'driver.name' has at most 100 bytes" });
  assert.equal(errorText(tooLong), 'Họ tên lái xe quá dài.');
  assert.equal(fieldLabel('lines[1].hs_code'), 'Mã HS, dòng 2');
  assert.equal(errorText(new ApiError(429, { code: 'rate_limited', detail: 'slow down' }, 3)), 'Quá nhiều yêu cầu: vui lòng thử lại sau 3 giây.');
  assert.equal(errorText(new TypeError('Failed to fetch')), vi['error.unreachable']);
  assert.equal(errorText(new ApiError(409, { code: 'something_new', detail: 'A new rule' })), 'Lỗi: A new rule');
  setLang('zh');
  assert.equal(errorText(new ApiError(403, { code: 'role_not_allowed', detail: 'no' })), '您的角色无权执行此操作。');
  assert.equal(errorText(new ApiError(400, { code: 'unknown_hs_code', field: 'lines[0].hs_code', detail: 'x' })), 'HS 编码（第 1 行）：不是 HS 2022 子目。');
  setLang('en');
  assert.equal(errorText(new ApiError(404, { code: 'crossing_not_found', detail: 'x' })), 'No such crossing (or it is not your company’s).');
});

test('plate-read reasons are translated when known, else shown as sent', () => {
  setLang('vi');
  assert.equal(readReasonText('confidence 0.41 below 0.60'), 'độ tin cậy 0.41 thấp hơn 0.60');
  assert.equal(readReasonText('no expected plate within distance 4'), 'không có biển số dự kiến nào trong khoảng cách 4');
  assert.equal(readReasonText('ambiguous: 12C55561 and 12C55562 at distance 1 and 2'), 'không rõ ràng: 12C55561 và 12C55562 ở khoảng cách 1/2');
  assert.equal(readReasonText('something else'), 'something else');
  setLang('en');
});

test('the live feed answered 401 reports it once and stops', async () => {
  let calls = 0;
  let unauthorized = 0;
  const states = [];
  const feed = openFeed({
    token: 'bft_x',
    onEvent: () => {},
    onState: (s) => states.push(s),
    onUnauthorized: () => (unauthorized += 1),
    fetchImpl: async () => {
      calls += 1;
      return { status: 401, ok: false, body: null };
    },
  });
  await new Promise((r) => setTimeout(r, 50));
  feed.close();
  assert.equal(unauthorized, 1);
  assert.equal(calls, 1);
  assert.deepEqual(states, ['connecting', 'denied']);
});
