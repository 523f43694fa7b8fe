import './style.css';
import { h, fill, option } from './dom.js';
import { t, getLang, setLang, LANGS } from './i18n.js';
import { session, api } from './api.js';
import * as loginView from './views/login.js';
import * as controlView from './views/control.js';
import * as portalView from './views/portal.js';
import * as boardView from './views/board.js';
import { setLaneNames } from './labels.js';

export const STAFF = ['gate_operator', 'customs_officer', 'quarantine_officer', 'border_guard', 'administrator'];
export const TRADE = ['forwarder', 'driver'];

const ctx = { gate: null, me: null };
let unmount = null;

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

async function loadMe() {
  if (!session.token) {
    ctx.me = null;
    return;
  }
  try {
    ctx.me = await api('/api/v1/me');
  } catch (e) {
    if (e.status === 401) session.clear();
    ctx.me = null;
  }
}

export async function signIn(token) {
  const me = await api('/api/v1/me', { token });
  session.set(token);
  ctx.me = me;
  return me;
}

function signOut() {
  session.clear();
  ctx.me = null;
  navigate('login');
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
  if (r.roles && (!ctx.me || !r.roles.includes(ctx.me.role))) target = 'login';
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
  unmount = routes[target].view.mount(main, { ...ctx, navigate, signIn, homeFor, refreshHeader: () => renderHeader(target) }) || null;
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
