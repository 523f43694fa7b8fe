// The control room: live queue per direction and lane class, staging yard, lanes, capacity plan
// against actual throughput, alerts, a crossing's detail with its timeline and audit records,
// and the actions of the signed-in role. Live through the feed (REST views re-read on events).
import { h, fill, field, option } from '../dom.js';
import { t } from '../i18n.js';
import { api, listAll, loadLifecycle, session } from '../api.js';
import { openFeed } from '../feed.js';
import { fmtTime, localInputToIso, isoToLocalInput, zoneText } from '../time.js';
import { errorText, readReasonText } from '../errors.js';
import { capacityChart } from '../chart.js';
import { dirName, laneName, stateName, eventName, channelName, roleName, FINAL_STATES } from '../labels.js';

const PERISHABLE_ALERT_H = 6;
const EXPIRY_ALERT_H = 12;
const YARD_STATES = ['in_yard', 'called'];
const GATE_STATES = ['at_gate', 'inspecting', 'checked', 'released'];
const PRE_STATES = ['expected', 'declared', 'assessed', 'booked'];
const PLATE_READ_ROLES = ['gate_operator', 'border_guard', 'administrator'];
const CAPACITY_ROLES = ['gate_operator', 'administrator'];
const CALL_ROLES = ['gate_operator', 'administrator'];
const FINDING_KINDS = {
  document: ['customs_officer', 'quarantine_officer'],
  seal: ['border_guard', 'customs_officer', 'quarantine_officer'],
  weighbridge: ['gate_operator', 'customs_officer', 'quarantine_officer'],
};
const FINDING_STATES = ['assessed', 'booked', 'in_yard', 'called', 'at_gate', 'inspecting', 'checked'];

export function mount(root, ctx) {
  const role = ctx.me.role;
  const gate = ctx.gate;
  const side = gate ? gate.self : { country: '', utc_offset: '+00:00' };
  let stopped = false;
  let lifecycle = [];
  // Who may send which event: loaded once, awaited by the crossing detail before its actions.
  const lifecycleLoaded = loadLifecycle().then((transitions) => {
    lifecycle = transitions;
  });
  let data = { queue: null, crossings: [], reads: [], changes: [], link: null };
  let selected = null;
  let detailVersion = null;
  // Loads overlap (a click, the live feed, the poll) and may finish out of order. A load that
  // finishes after a later one has drawn is dropped: it would put back a state the crossing has
  // left, and keep it until the next change. (Dropping only then, not whenever a later load has
  // started, means a steady feed cannot keep the page from drawing.) A focus asked for by a
  // dropped load is kept for the next one that draws.
  let loads = 0;
  let listsDrawn = 0;
  let detailDrawn = 0;
  let detailFocus = false;
  const log = [];

  const sec = (id, title, extra) => {
    const body = h('div', { class: 'section-body', id: id + '-body' });
    const el = h('section', { class: 'card', id, 'aria-labelledby': id + '-title' }, h('h2', { id: id + '-title' }, title, extra || null), body);
    return { el, body };
  };
  const feedState = h('span', { class: 'feed-state', id: 'feed-state', 'data-state': 'connecting' }, t('feed.connecting'));
  const strip = h('div', { class: 'strip', id: 'status-strip' });
  const message = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'control-message' });
  const alerts = sec('alerts', t('control.alerts'));
  const queue = sec('queue', t('control.queue'));
  const yard = sec('yard', t('control.yard'));
  const gateSec = sec('gate-lanes', t('control.gate'));
  const pre = sec('pre-arrival', t('control.preArrival'));
  const reads = PLATE_READ_ROLES.includes(role) ? sec('plate-reads', t('control.plateReads')) : null;
  const capacity = sec('capacity', t('control.capacity'));
  const detail = sec('detail', t('control.detail'));
  const live = sec('live-log', t('control.liveLog'));

  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, t('control.title')), h('div', {}, t('control.signedInAs', { role: roleName(role) }), ' · ', feedState)),
    strip,
    message,
    h(
      'div',
      { class: 'grid control' },
      h('div', { class: 'col' }, alerts.el, queue.el, yard.el, gateSec.el, pre.el),
      h('div', { class: 'col' }, detail.el, reads ? reads.el : null, capacity.el, live.el),
    ),
  );
  fill(detail.body, h('p', { class: 'muted' }, t('control.pickCrossing')));

  const say = (text) => {
    message.textContent = text;
  };
  const fail = (e) => say(errorText(e));

  // --- data ---------------------------------------------------------------------------------
  async function refresh() {
    const load = ++loads;
    const optional = (p) => p.catch(() => null);
    const [q, crossings, rd, ch, link] = await Promise.all([
      optional(api('/api/v1/queue')),
      optional(listAll('/api/v1/crossings')),
      reads ? optional(api('/api/v1/plate-reads')) : null,
      optional(api('/api/v1/capacity/changes')),
      optional(api('/api/v1/link')),
    ]);
    if (stopped || load < listsDrawn) return;
    listsDrawn = load;
    data = {
      queue: q,
      crossings: crossings || data.crossings,
      reads: rd ? rd.items || [] : [],
      changes: ch ? ch.items || [] : [],
      link,
    };
    renderStrip();
    renderAlerts();
    renderQueue();
    renderLists();
    if (reads) renderReads();
    await renderChart();
    if (selected) await renderDetail(false);
  }

  let debounce = null;
  const soon = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => refresh().catch(fail), 250);
  };

  // --- status strip and alerts ----------------------------------------------------------------
  function renderStrip() {
    const q = data.queue;
    const linkState = data.link ? (data.link.enabled ? data.link.state : 'disabled') : 'unknown';
    const items = [
      [t('control.gateOpen'), gate ? (gate.self.open ? t('board.open') : t('board.closed')) : '—'],
      [t('control.localTime'), fmtTime(Date.now(), side)],
      [t('control.yardCount'), q ? `${q.yard.count} / ${q.yard.capacity}` : '—'],
      [t('control.policy'), q ? t('policy.' + q.policy, {}, q.policy) : '—'],
      [t('control.link'), t('link.' + linkState, {}, linkState)],
    ];
    fill(strip, items.map(([k, v]) => h('div', { class: 'kv' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v))));
  }

  function renderAlerts() {
    const list = [];
    const now = Date.now();
    for (const c of data.crossings) {
      if (FINAL_STATES.includes(c.state) || c.state === 'released') continue;
      const plate = c.vehicle.plate.display;
      if (c.freshness_deadline) {
        const left = (Date.parse(c.freshness_deadline) - now) / 3600000;
        if (left < PERISHABLE_ALERT_H) list.push({ level: 'bad', kind: 'perishable', text: t('alert.perishable', { plate, time: fmtTime(c.freshness_deadline, side) }), id: c.id });
      }
      if (c.declaration_valid_until) {
        const left = (Date.parse(c.declaration_valid_until) - now) / 3600000;
        if (left < EXPIRY_ALERT_H) list.push({ level: 'warn', kind: 'expiry', text: t('alert.expiry', { plate, time: fmtTime(c.declaration_valid_until, side) }), id: c.id });
      }
    }
    if (data.link && data.link.enabled && data.link.state === 'down') {
      list.push({ level: 'bad', kind: 'link', text: t('alert.linkDown', { backlog: data.link.backlog ?? 0 }) });
    }
    // GET /api/v1/link "alerts": the counterpart's findings on crossings already closed here, and
    // messages to the counterpart that could not be delivered (skipped).
    for (const a of (data.link && data.link.alerts) || []) {
      if (a.type === 'undeliverable_message') {
        const subject = a.plate || a.crossing_id || a.stream;
        list.push({ level: 'bad', kind: 'link', text: t('alert.undeliverable', { subject, type: a.message_type, code: a.code }), id: a.crossing_id });
        continue;
      }
      const note = a.note || a.finding_type || a.outcome;
      list.push({ level: 'bad', kind: 'counterpart', text: t('alert.counterpartFinding', { plate: a.plate || a.crossing_id, note, state: stateName(a.state) }), id: a.crossing_id });
    }
    for (const ch of data.changes) {
      if (Date.parse(ch.until) <= now) continue;
      const reduces = ch.kind === 'closure' || ch.kind === 'acceptance' || (ch.kind === 'lanes' && ch.lanes < laneCount(ch.direction, ch.lane_class));
      if (!reduces) continue;
      list.push({
        level: 'warn',
        kind: 'capacity',
        text: t('alert.capacity', {
          kind: t('capacityKind.' + ch.kind, {}, ch.kind),
          lane: ch.direction ? `${dirName(ch.direction)} ${ch.lane_class ? laneName(ch.lane_class) : ''}` : t('control.allLanes'),
          from: fmtTime(ch.from, side),
          until: fmtTime(ch.until, side),
          reason: ch.reason || '—',
        }),
      });
    }
    for (const r of data.reads) list.push({ level: 'warn', kind: 'plate', text: t('alert.plateRead', { text: r.text, location: t('location.' + r.location, {}, r.location), outcome: t('readOutcome.' + r.outcome, {}, r.outcome) }) });
    fill(
      alerts.body,
      list.length === 0
        ? h('p', { class: 'muted' }, t('alert.none'))
        : h(
            'ul',
            { class: 'alerts', id: 'alerts-list' },
            list.map((a) =>
              h(
                'li',
                { class: 'alert ' + a.level, dataset: { kind: a.kind } },
                h('span', { class: 'alert-kind' }, t('alertKind.' + a.kind)),
                ' ',
                a.text,
                a.id ? [' ', h('button', { type: 'button', class: 'link', onclick: () => select(a.id) }, t('common.open'))] : null,
              ),
            ),
          ),
    );
  }

  function laneCount(direction, laneClass) {
    const d = gate && gate.directions.find((x) => x.id === direction);
    const l = d && d.lane_classes.find((x) => x.lane_class === laneClass);
    return l ? l.lanes : 0;
  }

  // --- queue ----------------------------------------------------------------------------------
  function renderQueue() {
    const q = data.queue;
    if (!q) {
      fill(queue.body, h('p', { class: 'muted' }, t('common.unavailable')));
      return;
    }
    fill(
      queue.body,
      wrap(
        'table',
        { class: 'list', id: 'queue-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [t('col.lane'), t('col.lanesOpen'), t('col.bucket'), t('col.inYard'), t('col.booked'), t('col.nextCalls'), ''].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          q.lanes.map((l) =>
            h(
              'tr',
              { dataset: { lane: `${l.direction}/${l.lane_class}` } },
              h('th', { scope: 'row' }, dirName(l.direction), h('br'), h('span', { class: 'muted' }, laneName(l.lane_class))),
              h('td', {}, t('control.lanesOccupied', { open: l.lanes_open, busy: l.lanes_occupied })),
              h('td', {}, t('control.bucketCalls', { made: l.bucket ? l.bucket.calls_made : 0, cap: l.bucket ? l.bucket.capacity : 0 })),
              h('td', {}, String(l.waiting_in_yard)),
              h('td', {}, String(l.booked)),
              h(
                'td',
                { class: 'calls' },
                l.calls.length === 0
                  ? '—'
                  : h(
                      'ol',
                      {},
                      l.calls.slice(0, 4).map((c) =>
                        h(
                          'li',
                          {},
                          h('button', { type: 'button', class: 'link', onclick: () => select(c.crossing_id) }, c.plate),
                          ' ',
                          h('span', { class: 'muted small' }, `${fmtTime(c.expected_call, side, { zone: false })} · ${t('priority.' + c.priority, {}, c.priority)}${c.in_yard ? ' · ' + t('control.inYardShort') : ''}`),
                        ),
                      ),
                    ),
              ),
              h(
                'td',
                {},
                CALL_ROLES.includes(role)
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'call-next',
                        'aria-label': t('control.callNextFor', { lane: `${dirName(l.direction)} ${laneName(l.lane_class)}` }),
                        onclick: () => callNext(l),
                      },
                      t('control.callNext'),
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function callNext(l) {
    say(t('common.sending'));
    try {
      const r = await api('/api/v1/queue/call-next', { method: 'POST', body: { direction: l.direction, lane_class: l.lane_class } });
      const c = r && (r.crossing || r);
      say(t('control.called', { plate: c && c.vehicle ? c.vehicle.plate.display : '' }));
      if (c && c.id) selected = c.id;
      detailVersion = null;
    } catch (e) {
      fail(e);
    }
    await refresh().catch(fail);
  }

  // --- crossing lists -------------------------------------------------------------------------
  function crossingTable(id, states, columns) {
    const rows = data.crossings.filter((c) => states.includes(c.state));
    rows.sort((a, b) => states.indexOf(a.state) - states.indexOf(b.state) || (a.updated_at < b.updated_at ? 1 : -1));
    if (rows.length === 0) return h('p', { class: 'muted' }, t('control.none'));
    return wrap(
      'table',
      { class: 'list', id },
      h('thead', {}, h('tr', {}, [t('col.plate'), t('col.company'), t('col.lane'), t('col.state'), ...columns.map((c) => c[0])].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        rows.map((c) =>
          h(
            'tr',
            { dataset: { crossing: c.id, plate: c.vehicle.plate.canonical, state: c.state }, class: c.id === selected ? 'selected' : '' },
            h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => select(c.id) }, c.vehicle.plate.display)),
            h('td', {}, c.company_id || '—'),
            h('td', {}, dirName(c.direction), h('br'), h('span', { class: 'muted small' }, laneName(c.lane_class))),
            h('td', { class: 'state' }, h('span', { class: 'pill state-' + c.state }, stateName(c.state)), c.channel && c.channel !== 'none' ? [' ', h('span', { class: 'pill ch-' + c.channel }, channelName(c.channel))] : null),
            columns.map((col) => h('td', {}, col[1](c))),
          ),
        ),
      ),
    );
  }

  function renderLists() {
    const q = (c) => c.queue || {};
    fill(
      yard.body,
      crossingTable('yard-table', YARD_STATES, [
        [t('col.arrived'), (c) => fmtTime(q(c).yard_arrived_at, side, { zone: false })],
        [t('col.calledAt'), (c) => (q(c).called_at ? `${fmtTime(q(c).called_at, side, { zone: false })} → ${fmtTime(q(c).call_deadline, side, { zone: false })}` : '—')],
      ]),
    );
    fill(gateSec.body, crossingTable('gate-table', GATE_STATES, [[t('col.updated'), (c) => fmtTime(c.updated_at, side, { zone: false })]]));
    fill(
      pre.body,
      crossingTable('pre-table', PRE_STATES, [
        [t('col.slot'), (c) => (q(c).booked_slot ? fmtTime(q(c).booked_slot, side, { zone: false }) : '—')],
        [t('col.freshness'), (c) => (c.freshness_deadline ? fmtTime(c.freshness_deadline, side) : '—')],
      ]),
    );
  }

  // --- plate reads ----------------------------------------------------------------------------
  function renderReads() {
    if (data.reads.length === 0) {
      fill(reads.body, h('p', { class: 'muted' }, t('control.noReads')));
      return;
    }
    fill(
      reads.body,
      h(
        'ul',
        { class: 'reads', id: 'reads-list' },
        data.reads.map((r) =>
          h(
            'li',
            { dataset: { read: r.id } },
            h('div', {}, h('strong', {}, r.text), ' · ', t('location.' + r.location, {}, r.location), ' · ', fmtTime(r.at, side), ' · ', t('readOutcome.' + r.outcome, {}, r.outcome)),
            h('div', { class: 'muted small read-reason' }, readReasonText(r.reason)),
            h(
              'div',
              { class: 'actions' },
              (r.candidates || []).map((c) =>
                h('button', { type: 'button', onclick: () => resolveRead(r, { action: 'apply', crossing_id: c.crossing_id }) }, t('control.confirmRead', { plate: c.plate })),
              ),
              h('button', { type: 'button', class: 'secondary', onclick: () => resolveRead(r, { action: 'dismiss' }) }, t('control.dismissRead')),
            ),
          ),
        ),
      ),
    );
  }

  async function resolveRead(r, body) {
    say(t('common.sending'));
    try {
      await api(`/api/v1/plate-reads/${encodeURIComponent(r.id)}/resolve`, { method: 'POST', body });
      say(t('control.readResolved', { text: r.text }));
    } catch (e) {
      fail(e);
    }
    await refresh().catch(fail);
  }

  // --- capacity chart and changes ---------------------------------------------------------------
  const chartDir = h('select', { id: 'chart-direction' }, (gate ? gate.directions : []).map((d) => option(d.id, dirName(d.id))));
  const chartLane = h('select', { id: 'chart-lane' });
  const fillChartLanes = () => {
    const d = gate && gate.directions.find((x) => x.id === chartDir.value);
    const cur = chartLane.value || 'fresh_produce';
    fill(chartLane, (d ? d.lane_classes : []).map((l) => option(l.lane_class, laneName(l.lane_class), l.lane_class === cur)));
  };
  fillChartLanes();
  chartDir.addEventListener('change', () => {
    fillChartLanes();
    renderChart();
  });
  chartLane.addEventListener('change', () => renderChart());
  const chartBox = h('div', { class: 'chart-box', id: 'capacity-chart' });
  const capForm = CAPACITY_ROLES.includes(role) ? capacityForm() : null;
  fill(
    capacity.body,
    h('div', { class: 'inline' }, field(t('control.chartDirection'), chartDir).row, field(t('control.chartLane'), chartLane).row),
    chartBox,
    h('p', { class: 'muted small' }, t('control.chartNote', { zone: fmtTime(Date.now(), side).split(' ').slice(1).join(' ') })),
    capForm,
  );

  async function renderChart() {
    if (!chartDir.value || !chartLane.value) return;
    const now = Date.now();
    const from = new Date(now - 3 * 3600000).toISOString();
    const until = new Date(now + 5 * 3600000).toISOString();
    try {
      const cap = await api('/api/v1/capacity', { query: { direction: chartDir.value, lane_class: chartLane.value, from, until } });
      const buckets = (cap.buckets || []).map((b) => ({ ...b, actual: 0 }));
      const ms = buckets.map((b) => Date.parse(b.start));
      for (const c of data.crossings) {
        if (c.direction !== chartDir.value || c.lane_class !== chartLane.value || !c.queue || !c.queue.called_at) continue;
        const at = Date.parse(c.queue.called_at);
        for (let i = ms.length - 1; i >= 0; i--) {
          if (at >= ms[i]) {
            if (at < ms[i] + (cap.bucket_minutes || 15) * 60000) buckets[i].actual += 1;
            break;
          }
        }
      }
      if (stopped) return;
      fill(
        chartBox,
        capacityChart(buckets, {
          side,
          now,
          labels: {
            title: t('control.chartTitle', { lane: `${dirName(chartDir.value)} · ${laneName(chartLane.value)}` }),
            plan: t('control.chartPlan'),
            planned: t('control.chartPlanned'),
            actual: t('control.chartActual'),
          },
        }),
      );
    } catch (e) {
      fill(chartBox, h('p', { class: 'muted' }, errorText(e)));
    }
  }

  function capacityForm() {
    const kind = h('select', { name: 'kind' }, ['closure', 'lanes', 'reversible', 'acceptance'].map((k) => option(k, t('capacityKind.' + k))));
    const dir = h('select', { name: 'direction' }, option('', t('control.allDirections')), (gate ? gate.directions : []).map((d) => option(d.id, dirName(d.id))));
    const laneSel = h('select', { name: 'lane_class' }, option('', t('control.allLaneClasses')));
    const laneIds = new Set();
    for (const d of gate ? gate.directions : []) for (const l of d.lane_classes) laneIds.add(l.lane_class);
    for (const id of laneIds) laneSel.append(option(id, laneName(id)));
    const from = h('input', { type: 'datetime-local', name: 'from', required: true, value: isoToLocalInput(Date.now() + 5 * 60000, side) });
    const until = h('input', { type: 'datetime-local', name: 'until', required: true, value: isoToLocalInput(Date.now() + 65 * 60000, side) });
    const lanes = h('input', { type: 'number', name: 'lanes', min: '0', max: '100', value: '1' });
    const tph = h('input', { type: 'number', name: 'trucks_per_hour', min: '0', max: '10000', value: '10' });
    const reason = h('input', { name: 'reason', maxlength: '500', autocomplete: 'off' });
    const zone = zoneText(side);
    const F = {
      kind: field(t('control.capKind'), kind),
      dir: field(t('control.capDirection'), dir),
      lane: field(t('control.capLane'), laneSel),
      from: field(`${t('control.capFrom')} (${zone})`, from),
      until: field(`${t('control.capUntil')} (${zone})`, until),
      lanes: field(t('control.capLanes'), lanes),
      tph: field(t('control.capRate'), tph),
      reason: field(t('control.capReason'), reason),
    };
    const sync = () => {
      F.lanes.row.hidden = !['lanes', 'reversible'].includes(kind.value);
      F.tph.row.hidden = kind.value !== 'acceptance';
    };
    kind.addEventListener('change', sync);
    sync();
    const msg = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'capacity-message' });
    return h(
      'form',
      {
        id: 'capacity-form',
        class: 'subform',
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { kind: kind.value, from: localInputToIso(from.value, side), until: localInputToIso(until.value, side) };
          if (dir.value) body.direction = dir.value;
          if (laneSel.value) body.lane_class = laneSel.value;
          if (!F.lanes.row.hidden) body.lanes = Number(lanes.value);
          if (!F.tph.row.hidden) body.trucks_per_hour = Number(tph.value);
          if (reason.value.trim()) body.reason = reason.value.trim();
          msg.textContent = t('common.sending');
          try {
            const r = await api('/api/v1/capacity/changes', { method: 'POST', body });
            msg.textContent = t('control.capacityChanged', { n: (r.replan && r.replan.changed_count) || 0 });
          } catch (err) {
            msg.textContent = errorText(err);
          }
          refresh().catch(fail);
        },
      },
      h('h3', {}, t('control.changeCapacity')),
      Object.values(F).map((f) => f.row),
      h('button', { type: 'submit', id: 'capacity-submit' }, t('control.applyCapacity')),
      msg,
    );
  }

  // --- crossing detail --------------------------------------------------------------------------
  async function select(id) {
    selected = id;
    detailVersion = null;
    renderLists();
    await renderDetail(true);
  }

  async function renderDetail(focus) {
    const id = selected;
    const load = ++loads;
    const superseded = () => stopped || id !== selected || load < detailDrawn;
    if (focus) detailFocus = true;
    let c;
    let history = [];
    let assessment = null;
    try {
      c = await api('/api/v1/crossings/' + encodeURIComponent(id));
    } catch (e) {
      if (!superseded()) fill(detail.body, h('p', {}, errorText(e)));
      return;
    }
    if (superseded()) return;
    if (detailVersion === c.version && !detailFocus) {
      detailDrawn = load; // what is drawn is as new as what this load read
      return;
    }
    try {
      history = (await api(`/api/v1/crossings/${encodeURIComponent(id)}/events`)).items || [];
    } catch {
      history = [];
    }
    try {
      assessment = await api(`/api/v1/crossings/${encodeURIComponent(id)}/assessment`);
    } catch {
      assessment = null;
    }
    // A crossing picked before the lifecycle arrived (the live feed can fill the lists first)
    // would otherwise show no actions, and keep none until its version changes.
    await lifecycleLoaded;
    if (superseded()) return;
    detailDrawn = load;
    detailVersion = c.version;
    focus = detailFocus;
    detailFocus = false;
    const may = (ev) => c.allowed_events.includes(ev) && lifecycle.some((tr) => tr.event === ev && tr.roles.includes(role));
    const actions = c.allowed_events.filter(may);
    const lines = c.lines || [];
    const v = c.vehicle || {};
    const docs = c.documents || {};
    const docList = [
      ['customs_declaration', 'document.customs_declaration'],
      ['phytosanitary_certificate', 'document.phytosanitary'],
      ['certificate_of_origin', 'document.certificate_of_origin'],
    ].filter(([k]) => docs[k]);
    const heading = h('h3', { id: 'detail-heading', tabindex: '-1' }, c.vehicle.plate.display, ' ', h('span', { class: 'pill state-' + c.state, id: 'detail-state' }, stateName(c.state)));
    fill(
      detail.body,
      h(
        'div',
        { class: 'detail', dataset: { crossing: c.id, state: c.state } },
        heading,
        h(
          'dl',
          { class: 'facts' },
          fact(t('col.id'), c.id),
          fact(t('col.company'), c.company_id || '—'),
          fact(t('col.route'), `${dirName(c.direction)} · ${laneName(c.lane_class)}`),
          fact(t('col.channel'), c.channel === 'none' ? '—' : channelName(c.channel) + (c.quarantine_inspection ? ' · ' + t('control.quarantine') : '')),
          fact(t('col.driver'), c.driver ? `${c.driver.name} (${c.driver.document_number})` : '—'),
          v.trailer_plate ? fact(t('col.trailer'), h('span', { id: 'detail-trailer' }, v.trailer_plate.display || v.trailer_plate)) : null,
          v.container_number ? fact(t('col.container'), h('span', { id: 'detail-container' }, v.container_number)) : null,
          v.seal_number ? fact(t('col.seal'), h('span', { id: 'detail-seal' }, v.seal_number)) : null,
          docList.length
            ? fact(
                t('col.documents'),
                h(
                  'ul',
                  { class: 'plain', id: 'detail-documents' },
                  docList.map(([k, label]) => h('li', { dataset: { document: k } }, t(label), ': ', h('strong', {}, docs[k]))),
                ),
              )
            : null,
          c.freshness_deadline ? fact(t('col.freshness'), fmtTime(c.freshness_deadline, side)) : null,
          fact(t('col.validUntil'), fmtTime(c.declaration_valid_until, side)),
          c.expected_call ? fact(t('col.expectedCall'), `${fmtTime(c.expected_call.at, side)} (#${c.expected_call.position})`) : null,
        ),
        lines.length ? linesTable(lines) : null,
        assessment && assessment.reasons ? reasonsBlock(assessment) : null,
        actions.length || findingKinds(c).length
          ? h('div', { class: 'actions-box', id: 'detail-actions' }, h('h4', {}, t('control.actions')), actions.map((ev) => eventForm(c, ev)), findingKinds(c).length ? findingForm(c) : null)
          : h('p', { class: 'muted' }, t('control.noActions')),
        h('h4', {}, t('control.timeline')),
        h(
          'ol',
          { class: 'timeline', id: 'detail-timeline' },
          history.map((r) => {
            const b = r.body || {};
            const from = b.from ? stateName(b.from) : '';
            const to = b.to ? stateName(b.to) : r.action === 'declare' ? stateName('declared') : '';
            return h(
              'li',
              { dataset: { action: r.action } },
              h('time', { datetime: r.at }, fmtTime(r.at, side)),
              ' ',
              h('strong', {}, eventName(r.action)),
              from || to ? ` ${from}${from && to ? ' → ' : ''}${to}` : '',
              ' · ',
              roleName(r.actor_role),
              b.data && (b.data.note || b.data.reason || b.data.outcome) ? h('div', { class: 'muted small' }, [b.data.outcome && t('outcome.' + b.data.outcome, {}, b.data.outcome), b.data.reason, b.data.note].filter(Boolean).join(' · ')) : null,
            );
          }),
        ),
        h(
          'details',
          { class: 'audit' },
          h('summary', {}, t('control.audit', { n: history.length })),
          wrap(
            'table',
            { class: 'list small' },
            h('thead', {}, h('tr', {}, [t('col.seq'), t('col.time'), t('col.actor'), t('col.action'), t('col.hash')].map((x) => h('th', { scope: 'col' }, x)))),
            h(
              'tbody',
              {},
              history.map((r) =>
                h('tr', {}, h('td', {}, String(r.seq)), h('td', {}, fmtTime(r.at, side)), h('td', {}, roleName(r.actor_role)), h('td', {}, eventName(r.action)), h('td', {}, h('code', { title: r.hash }, r.hash.slice(0, 12)))),
              ),
            ),
          ),
        ),
      ),
    );
    if (focus) heading.focus();
  }

  function linesTable(lines) {
    return h(
      'div',
      { class: 'lines' },
      h('h4', {}, t('col.lines', { n: lines.length })),
      wrap(
        'table',
        { class: 'list small', id: 'detail-lines' },
        h('thead', {}, h('tr', {}, ['#', t('col.hs'), t('col.description'), t('col.packages'), t('col.weight'), t('col.value'), t('col.origin')].map((x) => h('th', { scope: 'col' }, x)))),
        h(
          'tbody',
          {},
          lines.map((l, i) =>
            h(
              'tr',
              {},
              h('td', {}, String(i + 1)),
              h('td', {}, h('code', {}, l.hs_code)),
              h('td', {}, l.description),
              h('td', {}, String(l.packages)),
              h('td', {}, String(l.gross_weight_kg)),
              h('td', {}, l.value ? `${l.value.amount} ${l.value.currency}` : '—'),
              h('td', {}, l.origin_country ? t('country.' + l.origin_country, {}, l.origin_country) : '—'),
            ),
          ),
        ),
      ),
    );
  }

  function reasonsBlock(a) {
    const lang = document.documentElement.lang;
    const reasons = (a.reasons || []).map((r) => (r.text && (r.text[lang] || r.text.en)) || r[lang] || r.en || '').filter(Boolean);
    if (!reasons.length) return null;
    return h('div', { class: 'reasons' }, h('h4', {}, t('control.reasons')), h('ul', {}, reasons.map((x) => h('li', {}, x))));
  }

  function findingKinds(c) {
    if (!FINDING_STATES.includes(c.state)) return [];
    return Object.entries(FINDING_KINDS)
      .filter(([, roles]) => roles.includes(role))
      .map(([k]) => k);
  }

  // A form sent with a version the crossing has left was refused (409): the detail is loaded
  // again, so the forms carry the current version and show the actions of the current state, and
  // the reason stays in the page message.
  function reloadAfterConflict(err) {
    if (!err || err.status !== 409) return false;
    say(errorText(err));
    detailVersion = null;
    refresh().catch(fail);
    return true;
  }

  function eventForm(c, ev) {
    const fields = [];
    const data = {};
    const add = (name, control, label, required) => {
      const f = field(label, control);
      control.name = name;
      if (required) control.required = true;
      fields.push(f.row);
      data[name] = control;
    };
    switch (ev) {
      case 'assess':
        add('channel', h('select', {}, ['green', 'yellow', 'red'].map((x) => option(x, channelName(x)))), t('control.channel'));
        add('quarantine_inspection', h('select', {}, option('false', t('common.no')), option('true', t('common.yes'))), t('control.quarantineInspection'));
        break;
      case 'check_documents':
        add('outcome', h('select', {}, ['ok', 'discrepancy'].map((x) => option(x, t('outcome.' + x)))), t('control.outcome'));
        add('note', h('input', { autocomplete: 'off' }), t('control.note'));
        break;
      case 'record_inspection':
        add('outcome', h('select', {}, ['no_finding', 'finding'].map((x) => option(x, t('outcome.' + x)))), t('control.outcome'));
        add('finding_type', h('input', { autocomplete: 'off' }), t('control.findingType'));
        add('note', h('input', { autocomplete: 'off' }), t('control.note'));
        break;
      case 'refuse':
      case 'cancel':
        add('reason', h('input', { autocomplete: 'off' }), t('control.reason'), true);
        break;
      case 'book':
      case 'cancel_booking':
        break;
      default:
        add('note', h('input', { autocomplete: 'off' }), t('control.note'));
    }
    const msg = h('div', { class: 'message small', role: 'status', 'aria-live': 'polite' });
    return h(
      'form',
      {
        class: 'event-form',
        dataset: { event: ev },
        onsubmit: async (e) => {
          e.preventDefault();
          const body = {};
          for (const [k, control] of Object.entries(data)) {
            const v = control.value.trim();
            if (k === 'quarantine_inspection') body[k] = v === 'true';
            else if (k === 'finding_type' && data.outcome && data.outcome.value !== 'finding') continue;
            else if (v) body[k] = v;
            else if (control.required) {
              msg.textContent = t('common.required');
              control.focus();
              return;
            }
          }
          msg.textContent = t('common.sending');
          try {
            await api(`/api/v1/crossings/${encodeURIComponent(c.id)}/events`, { method: 'POST', body: { type: ev, data: body, expected_version: c.version } });
            say(t('control.eventDone', { event: eventName(ev), plate: c.vehicle.plate.display }));
            detailVersion = null;
          } catch (err) {
            if (reloadAfterConflict(err)) return;
            msg.textContent = errorText(err);
            return;
          }
          await refresh().catch(fail);
        },
      },
      fields,
      h('button', { type: 'submit', id: 'action-' + ev, class: ev === 'refuse' || ev === 'cancel' ? 'danger' : '' }, eventName(ev)),
      msg,
    );
  }

  function findingForm(c) {
    const kinds = findingKinds(c);
    const kind = h('select', { name: 'kind' }, kinds.map((k) => option(k, t('finding.' + k))));
    const doc = h('select', { name: 'document' }, ['phytosanitary', 'certificate_of_origin', 'customs_declaration'].map((d) => option(d, t('document.' + d))));
    const valid = h('select', { name: 'valid' }, option('true', t('finding.valid')), option('false', t('finding.invalid')));
    const seal = h('select', { name: 'seal' }, option('intact', t('finding.intact')), option('broken', t('finding.broken')));
    const kg = h('input', { type: 'number', name: 'measured_kg', min: '0', max: '1000000', step: '0.1' });
    const note = h('input', { name: 'note', autocomplete: 'off' });
    const F = {
      kind: field(t('finding.kind'), kind),
      doc: field(t('finding.document'), doc),
      valid: field(t('finding.result'), valid),
      seal: field(t('finding.seal'), seal),
      kg: field(t('finding.measured'), kg),
      note: field(t('control.note'), note),
    };
    const sync = () => {
      F.doc.row.hidden = F.valid.row.hidden = kind.value !== 'document';
      F.seal.row.hidden = kind.value !== 'seal';
      F.kg.row.hidden = kind.value !== 'weighbridge';
    };
    kind.addEventListener('change', sync);
    sync();
    const msg = h('div', { class: 'message small', role: 'status', 'aria-live': 'polite' });
    return h(
      'form',
      {
        class: 'event-form',
        id: 'finding-form',
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { kind: kind.value, expected_version: c.version };
          if (kind.value === 'document') {
            body.document = doc.value;
            body.valid = valid.value === 'true';
          } else if (kind.value === 'seal') body.seal = seal.value;
          else body.measured_kg = Number(kg.value);
          if (note.value.trim()) body.note = note.value.trim();
          msg.textContent = t('common.sending');
          try {
            await api(`/api/v1/crossings/${encodeURIComponent(c.id)}/findings`, { method: 'POST', body });
            say(t('control.findingDone', { plate: c.vehicle.plate.display }));
            detailVersion = null;
          } catch (err) {
            if (reloadAfterConflict(err)) return;
            msg.textContent = errorText(err);
            return;
          }
          await refresh().catch(fail);
        },
      },
      h('h4', {}, t('control.recordFinding')),
      Object.values(F).map((f) => f.row),
      h('button', { type: 'submit', id: 'finding-submit' }, t('control.recordFinding')),
      msg,
    );
  }

  // --- live -----------------------------------------------------------------------------------
  function pushLog(ev) {
    const d = ev.data || {};
    let text = t('feedEvent.' + ev.event, {}, ev.event);
    if (ev.event === 'crossing') {
      const plate = d.crossing && d.crossing.vehicle ? d.crossing.vehicle.plate.display : d.crossing_id;
      text = `${plate}: ${eventName(d.action)}${d.to ? ' → ' + stateName(d.to) : ''}${d.alert ? ' ⚠ ' + t('alertKind.counterpart') : ''}`;
    } else if (ev.event === 'link') text = t(d.up ? 'link.up' : 'link.down');
    else if (ev.event === 'link_message' && d.alert) text = `${text} ⚠ ${t('alertKind.link')}`;
    log.unshift({ at: d.at || new Date().toISOString(), text, kind: ev.event });
    log.length = Math.min(log.length, 12);
    fill(
      live.body,
      h(
        'ol',
        { class: 'log', id: 'live-events' },
        log.map((l) => h('li', { dataset: { kind: l.kind } }, h('time', {}, fmtTime(l.at, side, { zone: false })), ' ', l.text)),
      ),
    );
  }
  fill(live.body, h('p', { class: 'muted' }, t('control.noEvents')));

  const feed = openFeed({
    token: session.token,
    onUnauthorized: ctx.sessionExpired,
    onEvent: (ev) => {
      if (ev.event !== 'hello') pushLog(ev);
      if (ev.event === 'crossing' && ev.data && ev.data.crossing_id === selected) detailVersion = null;
      soon();
    },
    onState: (s) => {
      feedState.dataset.state = s;
      feedState.textContent = t('feed.' + s);
    },
  });
  const poll = setInterval(() => {
    if (feedState.dataset.state !== 'live') refresh().catch(fail);
    else renderStrip();
  }, 10000);

  (async () => {
    await lifecycleLoaded;
    await refresh().catch(fail);
  })();

  return () => {
    stopped = true;
    feed.close();
    clearInterval(poll);
    clearTimeout(debounce);
  };
}

// A table in a box that scrolls sideways on a narrow screen (the page itself never does).
function wrap(...args) {
  return h('div', { class: 'table-wrap' }, h(...args));
}

function fact(k, v) {
  return [h('dt', {}, k), h('dd', {}, v)];
}
