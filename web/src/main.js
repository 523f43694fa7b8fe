import './style.css';
import { h, fill, option } from './dom.js';
import { t, getLang, setLang, LANGS } from './i18n.js';
import { session, api, onUnauthorized } from './api.js';
import * as loginView from './views/login.js';
import * as controlView from './views/control.js';
import * as portalView from './views/portal.js';
import * as boardView from './views/board.js';
import { setLaneNames } from './labels.js';

export const STAFF = ['gate_operator', 'customs_officer', 'quarantine_officer', 'border_guard', 'administrator'];
export const TRADE = ['forwarder', 'driver'];

// me: the signed-in user, or null. meState: 'ok', or 'retrying' while /api/v1/me cannot be read
// for another reason than 401 (server down, 429, 5xx): the token stays and the page retries.
// notice: a message for the sign-in page ('session.expired' after a 401).
const ctx = { gate: null, me: null, meState: 'ok', notice: '' };
let unmount = null;
let retryTimer = null;
let retryDelay = 2000;

const routes = {
  login: { view: loginView },
  control: { view: controlView, roles: STAFF },
  portal: { view: portalView, roles: TRADE },
  board: { view: boardView },
};

export function homeFor(me) {
  if (!me) return 'board';
  if (STAFF.includes(me.role)) return 'control';
  if (TRADE.includes(me.role)) return 'portal';
  return 'board';
}

export function navigate(name) {
  if (location.hash === '#/' + name) route();
  else location.hash = '#/' + name;
}

// Only a 401 signs out; any other failure keeps the token and retries (with backoff, or the
// server's Retry-After).
async function loadMe() {
  clearTimeout(retryTimer);
  if (!session.token) {
    ctx.me = null;
    ctx.meState = 'ok';
    return;
  }
  try {
    ctx.me = await api('/api/v1/me');
    ctx.meState = 'ok';
    retryDelay = 2000;
  } catch (e) {
    ctx.me = null;
    if (e.status === 401) {
      // api() has reported it (sessionExpired); a token that was already gone stays gone.
      session.clear();
      ctx.meState = 'ok';
      return;
    }
    ctx.meState = 'retrying';
    const wait = e.retryAfter ? Math.max(e.retryAfter * 1000, 1000) : retryDelay;
    retryDelay = Math.min(retryDelay * 2, 30000);
    retryTimer = setTimeout(retryMe, wait);
  }
}

async function retryMe() {
  await loadMe();
  if (ctx.meState === 'ok') route();
}

// A 401 anywhere (a REST call with the stored token, the live feed): the token was revoked or
// has expired. Forget it, drop what the page shows and explain on the sign-in page.
function sessionExpired() {
  if (!session.token && !ctx.me) return;
  session.clear();
  ctx.me = null;
  ctx.notice = 'session.expired';
  if (unmount) {
    try {
      unmount();
    } catch {
      /* ignore */
    }
    unmount = null;
  }
  const main = document.getElementById('main');
  if (main) main.replaceChildren();
  navigate('login');
}
onUnauthorized(sessionExpired);

export async function signIn(token) {
  const me = await api('/api/v1/me', { token });
  session.set(token);
  ctx.me = me;
  ctx.meState = 'ok';
  ctx.notice = '';
  clearTimeout(retryTimer);
  return me;
}

function signOut() {
  session.clear();
  ctx.me = null;
  ctx.meState = 'ok';
  ctx.notice = '';
  clearTimeout(retryTimer);
  navigate('login');
}

// While /api/v1/me cannot be read (server down or busy): say so, keep the token, retry.
function retryingView(main) {
  main.append(
    h(
      'section',
      { class: 'card narrow', id: 'retrying' },
      h('p', { class: 'message', role: 'status', 'aria-live': 'polite' }, t('session.retrying')),
      h('button', { type: 'button', id: 'retry-now', onclick: () => retryMe() }, t('session.retryNow')),
    ),
  );
}

// A signed-in user on a page of other roles: say so and link to their own page.
function forbiddenView(main) {
  const home = homeFor(ctx.me);
  main.append(
    h(
      'section',
      { class: 'card narrow', id: 'forbidden' },
      h('p', { class: 'message', role: 'alert' }, t('session.forbidden', { role: t('role.' + ctx.me.role) })),
      h('p', {}, h('a', { href: '#/' + home, id: 'forbidden-home' }, t('session.goHome', { page: t('page.' + home) }))),
    ),
  );
}

function renderHeader(current) {
  const header = document.getElementById('app-header');
  const gateName = ctx.gate ? ctx.gate.self.name[getLang()] || ctx.gate.self.name.en : '';
  const link = (name, text) =>
    h('a', { href: '#/' + name, class: current === name ? 'active' : '', 'aria-current': current === name ? 'page' : null }, text);
  const nav = [link('board', t('nav.board'))];
  if (ctx.me && STAFF.includes(ctx.me.role)) nav.push(link('control', t('nav.control')));
  if (ctx.me && TRADE.includes(ctx.me.role)) nav.push(link('portal', t('nav.portal')));
  if (!ctx.me) nav.push(link('login', t('nav.login')));
  const langSelect = h(
    'select',
    { id: 'lang-select', onchange: (e) => changeLang(e.target.value) },
    LANGS.map((l) => option(l.code, l.name, l.code === getLang())),
  );
  fill(
    header,
    h(
      'div',
      { class: 'bar' },
      h('div', { class: 'brand' }, h('span', {}, 'borderflow'), gateName ? h('span', { class: 'gate-name' }, gateName) : null),
      h('nav', { 'aria-label': t('nav.label') }, nav),
      h(
        'div',
        { class: 'tools' },
        h('label', { for: 'lang-select', class: 'lang-label' }, t('nav.language')),
        langSelect,
        ctx.me
          ? [
              h('span', { class: 'who', id: 'who' }, `${ctx.me.name} · ${t('role.' + ctx.me.role)}`),
              h('button', { type: 'button', id: 'sign-out', class: 'secondary', onclick: signOut }, t('nav.signOut')),
            ]
          : null,
      ),
    ),
  );
  document.title = `borderflow · ${t('page.' + current)}`;
}

function changeLang(code) {
  setLang(code);
  route();
}

async function route() {
  const name = (location.hash.replace(/^#\/?/, '').split('?')[0] || '').trim();
  let target = routes[name] ? name : homeFor(ctx.me);
  const r = routes[target];
  let special = null;
  if ((r.roles || target === 'login') && ctx.meState === 'retrying') special = retryingView;
  else if (r.roles && ctx.me && !r.roles.includes(ctx.me.role)) special = forbiddenView;
  else if (r.roles && !ctx.me) target = 'login';
  if (unmount) {
    try {
      unmount();
    } catch {
      /* ignore */
    }
    unmount = null;
  }
  document.documentElement.lang = getLang();
  renderHeader(target);
  const main = document.getElementById('main');
  main.replaceChildren();
  main.dataset.page = target;
  const skip = document.getElementById('skip-link');
  if (skip) skip.textContent = t('nav.skip');
  if (special) {
    special(main);
    return;
  }
  // The sign-in page keeps its explanation (a hash change can render it twice); others drop it.
  const notice = target === 'login' ? ctx.notice : '';
  if (target !== 'login') ctx.notice = '';
  unmount = routes[target].view.mount(main, { ...ctx, notice, navigate, signIn, homeFor, sessionExpired, refreshHeader: () => renderHeader(target) }) || null;
}

async function start() {
  document.documentElement.lang = getLang();
  try {
    ctx.gate = await api('/api/v1/gate', { token: '' });
  } catch {
    ctx.gate = null;
  }
  try {
    const board = await api('/api/v1/wait-board', { token: '' });
    const names = {};
    for (const l of board.lanes || []) names[l.lane_class] = l.name;
    setLaneNames(names);
  } catch {
    /* lane class ids are shown instead */
  }
  await loadMe();
  window.addEventListener('hashchange', route);
  await route();
}

start();
