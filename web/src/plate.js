// Client-side plate check as the forwarder types (the server checks again, src/core/plate.cpp).
// Returns {ok: true, display, country} or {ok: false, reason: i18n key, params}.
const CN_PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const SEPARATORS = /[\s\-.·•]/gu;
const VN_UNUSED = new Set([13, 42, 44, 45, 46, 91, 96]);

export function checkPlate(text) {
  const s = Array.from((text || '').replace(SEPARATORS, '').toUpperCase());
  if (s.length === 0) return { ok: false, reason: 'plate.empty' };
  const first = s[0];
  if (/[0-9]/.test(first)) return checkVietnamese(s.join(''));
  if (CN_PROVINCES.includes(first)) return checkChinese(s);
  return { ok: false, reason: 'plate.unknownCountry' };
}

function checkVietnamese(s) {
  const m = /^(\d{2})([A-Z]*)(.*)$/.exec(s);
  if (!m) return { ok: false, reason: 'plate.vnProvince' };
  const province = Number(m[1]);
  if (province < 11 || VN_UNUSED.has(province)) return { ok: false, reason: 'plate.vnProvinceUnknown', params: { code: m[1] } };
  if (m[2].length === 0) return { ok: false, reason: 'plate.vnSeries' };
  if (m[2].length > 2) return { ok: false, reason: 'plate.vnSeries' };
  if (!/^\d*$/.test(m[3]) || (m[3].length !== 4 && m[3].length !== 5)) return { ok: false, reason: 'plate.vnNumber' };
  const n = m[3];
  const display = `${m[1]}${m[2]}-${n.length === 5 ? n.slice(0, 3) + '.' + n.slice(3) : n}`;
  return { ok: true, display, country: 'VN' };
}

function checkChinese(chars) {
  const trailer = chars.length > 1 && chars[chars.length - 1] === '挂';
  const rest = chars.slice(1, trailer ? -1 : undefined).join('');
  if (!/^[A-Z]/.test(rest) || /[IO]/.test(rest) || !/^[A-Z][A-Z0-9]*$/.test(rest)) return { ok: false, reason: 'plate.cnChars' };
  const serial = rest.slice(1);
  if (trailer ? serial.length !== 4 : !(serial.length === 5 || (serial.length === 6 && /^[DF]|[DF]$/.test(serial)))) {
    return { ok: false, reason: 'plate.cnLength' };
  }
  return { ok: true, display: `${chars[0]}${rest[0]}·${serial}${trailer ? '挂' : ''}`, country: 'CN' };
}
