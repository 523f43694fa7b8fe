// Times in the gate side's local time with the zone named: "14:05 ICT (UTC+7)".
import { getLang } from './i18n.js';

const ZONE_NAMES = { VN: 'ICT', CN: 'CST' };

export function offsetMinutes(offset) {
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset || '+00:00');
  if (!m) return 0;
  const v = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -v : v;
}

export function zoneLabel(side) {
  const mins = offsetMinutes(side.utc_offset);
  const h = Math.trunc(Math.abs(mins) / 60);
  const mm = Math.abs(mins) % 60;
  const utc = `UTC${mins < 0 ? '-' : '+'}${h}${mm ? ':' + String(mm).padStart(2, '0') : ''}`;
  const name = ZONE_NAMES[side.country];
  return name ? `${name} (${utc})` : utc;
}

// The zone for a label that has its own parentheses: "ICT, UTC+7" (never nested brackets).
export function zoneText(side) {
  return zoneLabel(side).replace(/^(\S+) \((.+)\)$/, '$1, $2');
}

// Wall-clock parts of `iso` (any RFC 3339 time) in the side's zone.
export function localParts(iso, side) {
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms + offsetMinutes(side.utc_offset) * 60000);
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
  };
}

const p2 = (n) => String(n).padStart(2, '0');

// A day and month in the reader's order: "30/11" (vi, en), "11月30日" (zh).
export function fmtDate(p, lang = getLang()) {
  if (lang === 'zh') return `${p.mo}月${p.d}日`;
  return `${p2(p.d)}/${p2(p.mo)}`;
}

// "14:05 ICT (UTC+7)", with "30/11 " before it when not today (in the side's zone).
export function fmtTime(iso, side, { zone = true, date = 'auto', lang } = {}) {
  if (!iso || !side) return '—';
  const p = localParts(iso, side);
  if (!p) return '—';
  const now = localParts(Date.now(), side);
  const showDate = date === true || (date === 'auto' && (p.d !== now.d || p.mo !== now.mo || p.y !== now.y));
  const text = `${showDate ? `${fmtDate(p, lang)} ` : ''}${p2(p.h)}:${p2(p.mi)}`;
  return zone ? `${text} ${zoneLabel(side)}` : text;
}

// A <input type="datetime-local"> value (the side's wall clock) to RFC 3339 with the side's offset.
export function localInputToIso(value, side) {
  if (!value) return '';
  const s = value.length === 16 ? value + ':00' : value;
  return s + (side.utc_offset || '+00:00');
}

// RFC 3339 to a datetime-local value in the side's zone.
export function isoToLocalInput(iso, side) {
  const p = localParts(iso, side);
  if (!p) return '';
  return `${p.y}-${p2(p.mo)}-${p2(p.d)}T${p2(p.h)}:${p2(p.mi)}`;
}

export function minutesText(m, t) {
  if (m === null || m === undefined) return '—';
  // Rounded first: 59.6 is "1 h 0 min", 119.6 is "2 h 0 min" (not "60 min", "1 h 60 min").
  const total = Math.round(m);
  if (total < 60) return t('unit.minutes', { n: total });
  const h = Math.floor(total / 60);
  return t('unit.hoursMinutes', { h, m: total - h * 60 });
}
