// One dictionary per language (src/i18n/*.js); the choice is kept in localStorage.
import en from './i18n/en.js';
import vi from './i18n/vi.js';
import zh from './i18n/zh.js';

export const DICTIONARIES = { vi, zh, en };
export const LANGS = [
  { code: 'vi', name: 'Tiếng Việt' },
  { code: 'zh', name: '中文' },
  { code: 'en', name: 'English' },
];
const KEY = 'borderflow.lang';

function initial() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && DICTIONARIES[saved]) return saved;
  } catch {
    /* storage may be blocked */
  }
  const nav = (typeof navigator !== 'undefined' && navigator.language) || 'vi';
  const code = nav.slice(0, 2).toLowerCase();
  return DICTIONARIES[code] ? code : 'vi';
}

let current = typeof window === 'undefined' ? 'en' : initial();

export function getLang() {
  return current;
}

export function setLang(code) {
  if (!DICTIONARIES[code]) return;
  current = code;
  try {
    localStorage.setItem(KEY, code);
  } catch {
    /* not kept */
  }
}

// t('key', {param}) in the current language; a missing key falls back to `fallback`, then English.
export function t(key, params = {}, fallback) {
  let text = DICTIONARIES[current][key];
  if (text === undefined) text = fallback !== undefined ? fallback : (en[key] ?? key);
  return text.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}
