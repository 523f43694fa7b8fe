// The public wait board: no login, aggregates only (no plate, no company), refreshes every 30 s.
import { h, fill } from '../dom.js';
import { t, getLang } from '../i18n.js';
import { api } from '../api.js';
import { errorText } from '../errors.js';
import { fmtTime, minutesText } from '../time.js';
import { dirName } from '../labels.js';

export const REFRESH_MS = 30000;

export function mount(root, ctx) {
  // The age of the figures shown stays visible when a refresh fails: the error comes beside it.
  const status = h('p', { class: 'updated', id: 'board-updated', 'aria-live': 'polite' });
  const problem = h('p', { class: 'message bad', id: 'board-error', role: 'status', 'aria-live': 'polite', hidden: true });
  const sides = h('div', { class: 'sides', id: 'board-sides' });
  const table = h('div', { id: 'board-lanes' });
  root.append(
    h('h1', {}, t('board.title')),
    h('p', { class: 'lead' }, t('board.intro')),
    sides,
    table,
    status,
    problem,
  );
  let timer = null;
  let stopped = false;

  async function load() {
    try {
      const b = await api('/api/v1/wait-board', { token: '' });
      if (stopped) return;
      render(b);
      status.textContent = t('board.updated', { time: fmtTime(b.at, b.self && sideOf(b.self, ctx)) });
      problem.textContent = '';
      problem.hidden = true;
    } catch (e) {
      if (stopped) return;
      problem.textContent = status.textContent ? t('board.stale', { error: errorText(e) }) : errorText(e);
      problem.hidden = false;
    }
  }

  function render(b) {
    const lang = getLang();
    fill(
      sides,
      [b.self, b.counterpart].map((s) => {
        const side = sideOf(s, ctx);
        return h(
          'div',
          { class: 'side card ' + (s.open ? 'open' : 'closed') },
          h('div', { class: 'side-name' }, s.name[lang] || s.name.en),
          h('div', { class: 'side-state' }, s.open ? t('board.open') : t('board.closed')),
          h('div', { class: 'side-time' }, t('board.localTime'), ': ', fmtTime(s.local_time, side)),
        );
      }),
    );
    const byDir = new Map();
    for (const l of b.lanes) {
      if (!byDir.has(l.direction)) byDir.set(l.direction, []);
      byDir.get(l.direction).push(l);
    }
    fill(
      table,
      [...byDir.entries()].map(([dir, lanes]) =>
        h(
          'section',
          { class: 'card', 'aria-label': t('direction.label', { dir: dirName(dir) }) },
          h('h2', {}, dirName(dir)),
          h(
            'table',
            { class: 'board' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, t('board.laneClass')),
                h('th', { scope: 'col' }, t('board.expectedWait')),
                h('th', { scope: 'col' }, t('board.status')),
                h('th', { scope: 'col' }, t('board.waiting')),
                h('th', { scope: 'col' }, t('board.capacityToday')),
                h('th', { scope: 'col' }, t('board.capacityNextHour')),
              ),
            ),
            h(
              'tbody',
              {},
              lanes.map((l) =>
                h(
                  'tr',
                  { dataset: { lane: `${l.direction}/${l.lane_class}` } },
                  h('th', { scope: 'row', 'data-label': t('board.laneClass') }, (l.name && (l.name[lang] || l.name.en)) || l.lane_class),
                  h(
                    'td',
                    { class: 'wait', 'data-label': t('board.expectedWait') },
                    h('strong', {}, minutesText(l.expected_wait_minutes, t)),
                    l.wait_interval_minutes
                      ? h('span', { class: 'muted' }, ' ', t('board.range', { lo: l.wait_interval_minutes[0], hi: l.wait_interval_minutes[1] }))
                      : null,
                  ),
                  h('td', { 'data-label': t('board.status') }, h('span', { class: 'pill ' + (l.open ? 'ok' : 'bad') }, l.open ? t('board.open') : t('board.closed'))),
                  h('td', { 'data-label': t('board.waiting') }, String(l.waiting ?? 0)),
                  h('td', { 'data-label': t('board.capacityToday') }, String(l.capacity_today ?? '—')),
                  h('td', { 'data-label': t('board.capacityNextHour') }, String(l.capacity_next_hour ?? '—')),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  load();
  timer = setInterval(load, REFRESH_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

function sideOf(s, ctx) {
  // The board's sides carry local_time with the offset; the gate view has country and offset.
  const off = /([+-]\d{2}:\d{2})$/.exec(s.local_time || '');
  return { country: s.country, utc_offset: off ? off[1] : (ctx.gate && ctx.gate.self.utc_offset) || '+00:00' };
}

