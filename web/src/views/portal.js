// The forwarder portal: declare a crossing (checked as you type), book / rebook / cancel a slot,
// the company's trucks with their status and expected call time. Live through the feed.
import { h, fill, field, option } from '../dom.js';
import { getLang, t } from '../i18n.js';
import { api, listAll, loadLifecycle, newKey, session } from '../api.js';
import { openFeed } from '../feed.js';
import { checkPlate } from '../plate.js';
import { fmtTime, localInputToIso, isoToLocalInput, zoneText } from '../time.js';
import { errorText, splitField } from '../errors.js';
import { dirName, laneName, stateName, channelName, FINAL_STATES } from '../labels.js';

const EXPECTED_CALL_STATES = ['booked', 'in_yard', 'called'];

// The server's limits in bytes of UTF-8 (docs/openapi.yaml, Declaration); maxlength counts
// characters, so the page checks the bytes too (Vietnamese and Chinese letters take 2-3).
export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

export function mount(root, ctx) {
  const gate = ctx.gate;
  const side = gate ? gate.self : { country: '', utc_offset: '+00:00' };
  let stopped = false;
  let lifecycle = [];
  // Who may send which event: loaded once, awaited before the trucks (and their buttons) render.
  const lifecycleLoaded = loadLifecycle().then((transitions) => {
    lifecycle = transitions;
  });

  const declareSection = h('section', { class: 'card', 'aria-labelledby': 'declare-title' });
  const trucksSection = h('section', { class: 'card', 'aria-labelledby': 'trucks-title' });
  const feedState = h('span', { class: 'feed-state', id: 'feed-state', 'data-state': 'connecting' }, t('feed.connecting'));
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, t('portal.title')), h('div', {}, t('portal.company', { company: ctx.me.company_id || '—' }), ' · ', feedState)),
    // Drivers follow their trucks; only forwarders declare.
    ctx.me.role === 'forwarder' ? h('div', { class: 'grid two' }, declareSection, trucksSection) : trucksSection,
  );

  // --- declaration form ---------------------------------------------------------------------
  let formKey = newKey();
  const directions = gate ? gate.directions : [];
  const dir = h('select', { name: 'direction', required: true }, directions.map((d) => option(d.id, dirName(d.id))));
  const lane = h('select', { name: 'lane_class', required: true });
  const fillLanes = () => {
    const d = directions.find((x) => x.id === dir.value);
    fill(lane, (d ? d.lane_classes : []).map((l) => option(l.lane_class, laneName(l.lane_class), l.lane_class === 'fresh_produce')));
    updatePerishable();
  };
  const plate = h('input', { name: 'plate', autocomplete: 'off', required: true, placeholder: '12C-123.45', maxlength: '32' });
  const trailer = h('input', { name: 'trailer_plate', autocomplete: 'off', placeholder: '12R-012.34', maxlength: '32' });
  const container = h('input', { name: 'container_number', autocomplete: 'off', placeholder: 'CSQU3054383', maxlength: '16' });
  const seal = h('input', { name: 'seal_number', autocomplete: 'off', maxlength: '32' });
  const driverName = h('input', { name: 'driver_name', required: true, autocomplete: 'off', maxlength: '100' });
  const driverDoc = h('input', { name: 'driver_document', required: true, autocomplete: 'off', maxlength: '32' });
  const nationality = h('select', { name: 'nationality' }, ['VN', 'CN'].map((c) => option(c, t('country.' + c))));
  const hs = h('input', { name: 'hs_code', autocomplete: 'off', required: true, inputmode: 'numeric', placeholder: '0810.60', maxlength: '16' });
  const goods = h('input', { name: 'description', required: true, autocomplete: 'off', maxlength: '500' });
  const packages = h('input', { name: 'packages', type: 'number', min: '1', max: '1000000', step: '1', required: true });
  const weight = h('input', { name: 'gross_weight_kg', type: 'number', min: '0.001', max: '100000', step: '0.001', required: true });
  const amount = h('input', { name: 'value', type: 'text', inputmode: 'decimal', required: true, placeholder: '48000.00', maxlength: '16' });
  const currency = h('input', { name: 'currency', value: 'USD', maxlength: '3', required: true, autocomplete: 'off' });
  const origin = h('select', { name: 'origin_country' }, ['VN', 'CN'].map((c) => option(c, t('country.' + c))));
  const freshness = h('input', { name: 'freshness_deadline', type: 'datetime-local' });
  const customsDecl = h('input', { name: 'customs_declaration', autocomplete: 'off', maxlength: '64' });
  const phyto = h('input', { name: 'phytosanitary_certificate', autocomplete: 'off', maxlength: '64' });
  const origCert = h('input', { name: 'certificate_of_origin', autocomplete: 'off', maxlength: '64' });

  const F = {
    direction: field(t('portal.direction'), dir),
    lane_class: field(t('portal.laneClass'), lane),
    plate: field(t('portal.plate'), plate, t('portal.plateHint')),
    trailer: field(t('portal.trailer'), trailer, t('common.optional')),
    container: field(t('portal.container'), container, t('portal.containerHint')),
    seal: field(t('portal.seal'), seal, t('common.optional')),
    driverName: field(t('portal.driverName'), driverName),
    driverDoc: field(t('portal.driverDocument'), driverDoc),
    nationality: field(t('portal.nationality'), nationality),
    hs: field(t('portal.hsCode'), hs, t('portal.hsHint')),
    goods: field(t('portal.goods'), goods),
    packages: field(t('portal.packages'), packages),
    weight: field(t('portal.weight'), weight, t('portal.weightHint')),
    amount: field(t('portal.value'), amount),
    currency: field(t('portal.currency'), currency),
    origin: field(t('portal.origin'), origin),
    freshness: field(side.country ? `${t('portal.freshness')} (${zoneText(side)})` : t('portal.freshness'), freshness, t('portal.freshnessHint')),
    customsDecl: field(t('portal.customsDeclaration'), customsDecl, t('common.optional')),
    phyto: field(t('portal.phyto'), phyto, t('common.optional')),
    origCert: field(t('portal.certificateOfOrigin'), origCert, t('common.optional')),
  };
  const setHint = (f, text, bad) => {
    f.hint.textContent = text;
    f.hint.classList.toggle('bad', !!bad);
    f.hint.classList.toggle('good', !bad && !!text);
    f.input.setAttribute('aria-invalid', bad ? 'true' : 'false');
  };

  function updatePerishable() {
    const perishable = lane.value === 'fresh_produce';
    freshness.required = perishable;
    F.freshness.row.hidden = !perishable;
    const empty = lane.value === 'empty_return';
    for (const f of [F.hs, F.goods, F.packages, F.weight, F.amount, F.currency, F.origin]) {
      f.row.hidden = empty;
      f.input.required = !empty;
    }
    hsFirst.results.hidden = empty;
    extraBox.hidden = empty;
    addLineButton.hidden = empty;
  }

  // Fields with a byte limit: [field, bytes, hint when empty].
  const LIMITS = [
    [F.plate, 32],
    [F.trailer, 32, t('common.optional')],
    [F.container, 16, t('portal.containerHint')],
    [F.seal, 32, t('common.optional')],
    [F.driverName, 100, ''],
    [F.driverDoc, 32, ''],
    [F.goods, 500, ''],
    [F.customsDecl, 64, t('common.optional')],
    [F.phyto, 64, t('common.optional')],
    [F.origCert, 64, t('common.optional')],
  ];
  const checkLength = (f, max, emptyHint) => {
    const over = !f.row.hidden && utf8Length(f.input.value.trim()) > max;
    if (over) setHint(f, t('portal.tooLong', { max }), true);
    else if (emptyHint !== undefined && f.input.getAttribute('aria-invalid') === 'true') setHint(f, emptyHint, false);
    return !over;
  };
  for (const [f, max, emptyHint] of LIMITS) if (f !== F.plate && f !== F.trailer) f.input.addEventListener('input', () => checkLength(f, max, emptyHint));

  const checks = {
    plate: () => {
      const r = checkPlate(plate.value);
      if (!plate.value) return setHint(F.plate, t('portal.plateHint'), false), false;
      if (r.ok) return setHint(F.plate, t('portal.plateOk', { display: r.display, country: t('country.' + r.country) }), false), true;
      return setHint(F.plate, t(r.reason, r.params || {}), true), false;
    },
    trailer: () => {
      if (!trailer.value) return setHint(F.trailer, t('common.optional'), false), true;
      const r = checkPlate(trailer.value);
      if (r.ok) return setHint(F.trailer, t('portal.plateOk', { display: r.display, country: t('country.' + r.country) }), false), true;
      return setHint(F.trailer, t(r.reason, r.params || {}), true), false;
    },
    packages: () => {
      if (F.packages.row.hidden) return true;
      const n = Number(packages.value);
      const ok = Number.isInteger(n) && n >= 1 && n <= 1000000;
      setHint(F.packages, ok ? '' : t('portal.packagesBad'), !ok);
      return ok;
    },
    weight: () => {
      if (F.weight.row.hidden) return true;
      const n = Number(weight.value);
      const ok = weight.value !== '' && n >= 0.001 && n <= 100000;
      setHint(F.weight, ok ? (n > 60000 ? t('portal.weightHeavy') : t('portal.weightOk', { t: (n / 1000).toFixed(3) })) : t('portal.weightBad'), !ok);
      return ok;
    },
    amount: () => {
      if (F.amount.row.hidden) return true;
      const ok = /^[0-9]+(\.[0-9]{1,2})?$/.test(amount.value.trim()) && Number(amount.value) <= 1e10;
      setHint(F.amount, ok ? '' : t('portal.valueBad'), !ok);
      return ok;
    },
    currency: () => {
      if (F.currency.row.hidden) return true;
      const ok = /^[A-Z]{3}$/.test(currency.value.trim().toUpperCase());
      setHint(F.currency, ok ? '' : t('portal.currencyBad'), !ok);
      return ok;
    },
    freshness: () => {
      if (F.freshness.row.hidden) return true;
      const iso = localInputToIso(freshness.value, side);
      const ok = !!freshness.value && Date.parse(iso) > Date.now();
      setHint(F.freshness, ok ? t('portal.freshnessHint') : t('portal.freshnessBad'), !ok);
      return ok;
    },
    required: (f) => {
      const ok = f.row.hidden || f.input.value.trim() !== '';
      setHint(f, ok ? '' : t('common.required'), !ok);
      return ok;
    },
  };
  // The HS code search of one goods line: as the trader types a code or words, suggestions from
  // GET /api/v1/hs; a ✓ with the description once the code is an HS 2022 subheading; choosing a
  // suggestion fills the code, and the goods description when it is empty. `suffix` keeps the
  // list's id unique (the first line's is "hs-results").
  // The everyday names of an HS entry in the page's language ("sầu riêng"), or "".
  const localNames = (i) => ((i.names && i.names[getLang()]) || []).join(', ');
  let hsLists = 0;
  const hsStops = [];
  function hsSearchFor(f, goodsInput, hintWhenEmpty) {
    const input = f.input;
    const id = hsLists++ === 0 ? 'hs-results' : `hs-results-${hsLists}`;
    const results = h('ul', { id, class: 'hs-results', role: 'listbox', 'aria-label': t('portal.hsResults') });
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', id);
    input.setAttribute('aria-autocomplete', 'list');
    f.row.insertBefore(results, f.hint);
    let valid = false;
    let timer = null;
    let seq = 0;
    hsStops.push(() => clearTimeout(timer));
    async function search() {
      const q = input.value.trim();
      const digits = q.replace(/[.\s]/g, '');
      valid = false;
      if (q.length < 2) {
        fill(results);
        input.setAttribute('aria-expanded', 'false');
        setHint(f, hintWhenEmpty, false);
        return;
      }
      const mine = ++seq;
      try {
        const r = await api('/api/v1/hs', { query: { q } });
        if (mine !== seq || stopped) return;
        const items = r.items || [];
        const exact = /^\d{6,10}$/.test(digits) ? items.find((i) => digits.startsWith(i.code) && i.code.length === 6) : null;
        valid = !!exact;
        if (exact) setHint(f, t('portal.hsOk', { code: exact.code, description: exact.description }), false);
        else setHint(f, /^\d+$/.test(digits) && digits.length >= 6 ? t('portal.hsUnknown') : t('portal.hsPick'), /^\d+$/.test(digits) && digits.length >= 6);
        fill(
          results,
          items.slice(0, 8).map((i) =>
            h(
              'li',
              { role: 'option' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  onclick: () => {
                    input.value = i.code.length === 6 ? `${i.code.slice(0, 4)}.${i.code.slice(4)}` : i.code;
                    if (!goodsInput.value) goodsInput.value = localNames(i) || i.description;
                    fill(results);
                    input.setAttribute('aria-expanded', 'false');
                    input.focus();
                    search();
                  },
                },
                h('code', {}, i.code),
                ' ',
                localNames(i) ? h('strong', {}, localNames(i)) : '',
                localNames(i) ? ' · ' : '',
                i.description,
              ),
            ),
          ),
        );
        input.setAttribute('aria-expanded', items.length && !exact ? 'true' : 'false');
        if (exact) fill(results);
      } catch (e) {
        if (mine === seq) setHint(f, errorText(e), true);
      }
    }
    input.addEventListener('input', () => {
      valid = false;
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown') {
        const first = results.querySelector('button');
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    });
    // Whether the code is an HS 2022 subheading, asking the server again when it was not known.
    async function confirm() {
      if (!valid) await search();
      return valid;
    }
    // Sending the form settles the field: a search still waiting or under way would otherwise
    // land after the form's own check and take back the error it marked.
    function settle() {
      clearTimeout(timer);
      seq++;
    }
    return { results, search, confirm, settle };
  }
  const hsFirst = hsSearchFor(F.hs, goods, t('portal.hsHint'));
  plate.addEventListener('input', checks.plate);
  trailer.addEventListener('input', checks.trailer);
  packages.addEventListener('input', checks.packages);
  weight.addEventListener('input', checks.weight);
  amount.addEventListener('input', checks.amount);
  currency.addEventListener('input', checks.currency);
  freshness.addEventListener('input', checks.freshness);
  dir.addEventListener('change', fillLanes);
  lane.addEventListener('change', updatePerishable);

  // Further goods lines (the first one is above, with the HS code search): the same fields,
  // checked the same way before sending; the server checks their HS codes.
  const extraLines = [];
  const extraBox = h('div', { id: 'extra-lines' });
  const addLineButton = h('button', { type: 'button', class: 'secondary', id: 'add-line', onclick: () => addLine() }, t('portal.addLine'));
  function addLine() {
    const X = {
      hs: field(t('portal.hsCode'), h('input', { autocomplete: 'off', inputmode: 'numeric', placeholder: '0804.50', maxlength: '16' }), t('portal.hsDigits')),
      goods: field(t('portal.goods'), h('input', { autocomplete: 'off', maxlength: '500' })),
      packages: field(t('portal.packages'), h('input', { type: 'number', min: '1', max: '1000000', step: '1' })),
      weight: field(t('portal.weight'), h('input', { type: 'number', min: '0.001', max: '100000', step: '0.001' }), t('portal.weightHint')),
      amount: field(t('portal.value'), h('input', { type: 'text', inputmode: 'decimal', placeholder: '1500.00', maxlength: '16' })),
      currency: field(t('portal.currency'), h('input', { value: currency.value.trim().toUpperCase() || 'USD', maxlength: '3', autocomplete: 'off' })),
      origin: field(t('portal.origin'), h('select', {}, ['VN', 'CN'].map((c) => option(c, t('country.' + c), c === origin.value)))),
    };
    const line = { F: X, legend: h('legend', {}), remove: h('button', { type: 'button', class: 'secondary remove-line' }) };
    line.hs = hsSearchFor(X.hs, X.goods.input, t('portal.hsDigits'));
    line.remove.addEventListener('click', () => {
      extraLines.splice(extraLines.indexOf(line), 1);
      line.el.remove();
      numberLines();
      addLineButton.focus();
    });
    line.el = h('fieldset', { class: 'goods-line' }, line.legend, Object.values(X).map((f) => f.row), line.remove);
    extraLines.push(line);
    extraBox.append(line.el);
    numberLines();
    X.hs.input.focus();
  }
  function numberLines() {
    extraLines.forEach((line, i) => {
      const n = i + 2;
      line.el.dataset.line = String(n);
      line.legend.textContent = t('portal.lineTitle', { n });
      line.remove.textContent = t('portal.removeLine', { n });
      const names = { hs: 'hs_code', goods: 'description', packages: 'packages', weight: 'gross_weight_kg', amount: 'value', currency: 'currency', origin: 'origin_country' };
      for (const [k, f] of Object.entries(line.F)) f.input.name = `lines[${n - 1}].${names[k]}`;
    });
  }
  function checkLine(X) {
    const test = (f, ok, bad) => {
      setHint(f, ok ? '' : bad, !ok);
      return ok;
    };
    const digits = X.hs.input.value.replace(/[.\s]/g, '');
    const n = Number(X.packages.input.value);
    const w = Number(X.weight.input.value);
    return (
      test(X.hs, /^\d{6,10}$/.test(digits), t('portal.hsDigits')) &
      test(X.goods, X.goods.input.value.trim() !== '' && utf8Length(X.goods.input.value.trim()) <= 500, X.goods.input.value.trim() ? t('portal.tooLong', { max: 500 }) : t('common.required')) &
      test(X.packages, Number.isInteger(n) && n >= 1 && n <= 1000000, t('portal.packagesBad')) &
      test(X.weight, X.weight.input.value !== '' && w >= 0.001 && w <= 100000, t('portal.weightBad')) &
      test(X.amount, /^[0-9]+(\.[0-9]{1,2})?$/.test(X.amount.input.value.trim()) && Number(X.amount.input.value) <= 1e10, t('portal.valueBad')) &
      test(X.currency, /^[A-Z]{3}$/.test(X.currency.input.value.trim().toUpperCase()), t('portal.currencyBad'))
    );
  }
  const lineBody = (X) => ({
    hs_code: X.hs.input.value.trim(),
    description: X.goods.input.value.trim(),
    packages: Number(X.packages.input.value),
    gross_weight_kg: Number(X.weight.input.value),
    value: { amount: X.amount.input.value.trim(), currency: X.currency.input.value.trim().toUpperCase() },
    origin_country: X.origin.input.value,
  });

  const formMessage = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'declare-message' });
  const submit = h('button', { type: 'submit', id: 'declare-submit' }, t('portal.declare'));
  const form = h(
    'form',
    { id: 'declare-form', novalidate: true, onsubmit: onDeclare },
    h('fieldset', {}, h('legend', {}, t('portal.route')), F.direction.row, F.lane_class.row),
    h('fieldset', {}, h('legend', {}, t('portal.vehicle')), F.plate.row, F.trailer.row, F.container.row, F.seal.row, F.driverName.row, F.driverDoc.row, F.nationality.row),
    h('fieldset', { id: 'goods-fieldset' }, h('legend', {}, t('portal.goodsTitle')), F.hs.row, F.goods.row, F.packages.row, F.weight.row, F.amount.row, F.currency.row, F.origin.row, extraBox, addLineButton, F.freshness.row),
    h('fieldset', {}, h('legend', {}, t('portal.documents')), F.customsDecl.row, F.phyto.row, F.origCert.row),
    submit,
    formMessage,
  );
  fill(declareSection, h('h2', { id: 'declare-title' }, t('portal.declareTitle')), form);
  fillLanes();
  if (gate && gate.self) freshness.value = isoToLocalInput(Date.now() + 36 * 3600000, side);

  async function onDeclare(e) {
    e.preventDefault();
    const empty = lane.value === 'empty_return';
    hsFirst.settle();
    for (const line of extraLines) line.hs.settle();
    let ok = checks.plate() & checks.trailer() & checks.required(F.driverName) & checks.required(F.driverDoc);
    for (const [f, max] of LIMITS) ok &= checkLength(f, max);
    if (!empty) {
      ok &= checks.required(F.goods) & checks.packages() & checks.weight() & checks.amount() & checks.currency();
      for (const line of extraLines) {
        if (!checkLine(line.F)) {
          ok = 0;
        } else if (!(await line.hs.confirm())) {
          setHint(line.F.hs, t('portal.hsUnknown'), true);
          ok = 0;
        }
      }
      if (!(await hsFirst.confirm())) {
        setHint(F.hs, t('portal.hsUnknown'), true);
        ok = 0;
      }
    }
    ok &= checks.freshness();
    if (!ok) {
      formMessage.textContent = t('portal.fixFields');
      const bad = form.querySelector('[aria-invalid="true"]');
      if (bad) bad.focus();
      return;
    }
    const body = {
      direction: dir.value,
      lane_class: lane.value,
      vehicle: { plate: plate.value.trim() },
      driver: { name: driverName.value.trim(), document_number: driverDoc.value.trim(), nationality: nationality.value },
    };
    if (trailer.value.trim()) body.vehicle.trailer_plate = trailer.value.trim();
    if (container.value.trim()) body.vehicle.container_number = container.value.trim();
    if (seal.value.trim()) body.vehicle.seal_number = seal.value.trim();
    if (!empty) {
      body.lines = [
        {
          hs_code: hs.value.trim(),
          description: goods.value.trim(),
          packages: Number(packages.value),
          gross_weight_kg: Number(weight.value),
          value: { amount: amount.value.trim(), currency: currency.value.trim().toUpperCase() },
          origin_country: origin.value,
        },
        ...extraLines.map((line) => lineBody(line.F)),
      ];
    }
    if (!F.freshness.row.hidden) body.freshness_deadline = localInputToIso(freshness.value, side);
    const docs = { customs_declaration: customsDecl.value.trim(), phytosanitary_certificate: phyto.value.trim(), certificate_of_origin: origCert.value.trim() };
    if (Object.values(docs).some(Boolean)) body.documents = docs;
    submit.disabled = true;
    formMessage.textContent = t('common.sending');
    try {
      const c = await api('/api/v1/crossings', { method: 'POST', body, key: formKey });
      formKey = newKey();
      formMessage.textContent = t('portal.declared', { plate: c.vehicle.plate.display, id: c.id });
      plate.value = '';
      trailer.value = '';
      container.value = '';
      seal.value = '';
      for (const line of extraLines.splice(0)) line.el.remove();
      checks.plate();
      await loadTrucks();
    } catch (err) {
      const text = errorText(err);
      formMessage.textContent = text;
      // The field the server names is marked (the form has one goods line: lines[0]).
      const map = {
        direction: F.direction,
        lane_class: F.lane_class,
        'vehicle.plate': F.plate,
        plate: F.plate,
        'vehicle.trailer_plate': F.trailer,
        'vehicle.container_number': F.container,
        'vehicle.seal_number': F.seal,
        'driver.name': F.driverName,
        'driver.document_number': F.driverDoc,
        'driver.nationality': F.nationality,
        hs_code: F.hs,
        description: F.goods,
        packages: F.packages,
        gross_weight_kg: F.weight,
        'value.amount': F.amount,
        'value.currency': F.currency,
        origin_country: F.origin,
        freshness_deadline: F.freshness,
        'documents.customs_declaration': F.customsDecl,
        'documents.phytosanitary_certificate': F.phyto,
        'documents.certificate_of_origin': F.origCert,
      };
      const where = splitField(err.field);
      const lineFields = { hs_code: 'hs', description: 'goods', packages: 'packages', gross_weight_kg: 'weight', 'value.amount': 'amount', 'value.currency': 'currency', origin_country: 'origin' };
      const extra = where.line >= 2 && extraLines[where.line - 2] ? extraLines[where.line - 2].F[lineFields[where.path]] : null;
      const f = extra || map[where.path] || (err.code === 'invalid_plate' ? F.plate : err.code === 'unknown_hs_code' || err.code === 'invalid_hs_code' ? F.hs : null);
      if (f) {
        setHint(f, text, true);
        f.input.focus();
      }
      if (err.status && err.status < 500) formKey = newKey();
    } finally {
      submit.disabled = false;
    }
  }

  // --- trucks ---------------------------------------------------------------------------------
  const trucksBody = h('div', { id: 'trucks' });
  const trucksMessage = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'trucks-message' });
  const showDone = h('input', { type: 'checkbox', id: 'show-done', onchange: () => loadTrucks() });
  fill(
    trucksSection,
    h('h2', { id: 'trucks-title' }, t('portal.trucksTitle')),
    h('div', { class: 'inline' }, showDone, h('label', { for: 'show-done' }, t('portal.showDone'))),
    trucksMessage,
    trucksBody,
  );
  let openForm = null; // crossing id whose action form is open
  let loadError = false; // trucksMessage shows a failed load
  // Loads overlap (the feed, an action, the filter) and may finish out of order: one that
  // finishes after a later one has drawn is dropped, not drawn over newer rows.
  let truckLoads = 0;
  let trucksDrawn = 0;

  async function loadTrucks() {
    const load = ++truckLoads;
    try {
      // The trucks' buttons come from the lifecycle: the live feed can ask for the list first.
      await lifecycleLoaded;
      const items = await listAll('/api/v1/crossings');
      const visible = items.filter((c) => showDone.checked || !FINAL_STATES.includes(c.state));
      visible.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
      const detail = new Map();
      await Promise.all(
        visible
          .filter((c) => EXPECTED_CALL_STATES.includes(c.state))
          .map(async (c) => {
            try {
              detail.set(c.id, await api('/api/v1/crossings/' + encodeURIComponent(c.id)));
            } catch {
              /* the list row is enough */
            }
          }),
      );
      if (stopped || load < trucksDrawn) return;
      trucksDrawn = load;
      renderTrucks(visible, detail);
      // A load error shown before is stale now (a message of an action stays).
      if (loadError) trucksMessage.textContent = '';
      loadError = false;
    } catch (e) {
      if (stopped || load < trucksDrawn) return;
      trucksMessage.textContent = errorText(e);
      loadError = true;
    }
  }

  function allowed(state) {
    return lifecycle.filter((tr) => tr.from.includes(state) && tr.roles.includes(ctx.me.role)).map((tr) => tr.event);
  }

  function renderTrucks(items, detail) {
    if (items.length === 0) {
      fill(trucksBody, h('p', { class: 'muted' }, t('portal.noTrucks')));
      return;
    }
    fill(
      trucksBody,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'list', id: 'trucks-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [t('col.plate'), t('col.route'), t('col.state'), t('col.channel'), t('col.slot'), t('col.expectedCall'), t('col.actions')].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            items.map((c) => {
              const d = detail.get(c.id);
              const ev = allowed(c.state);
              const q = c.queue || {};
              return [
                h(
                  'tr',
                  { dataset: { crossing: c.id, plate: c.vehicle.plate.canonical, state: c.state } },
                  h('th', { scope: 'row' }, c.vehicle.plate.display),
                  h('td', {}, dirName(c.direction), h('br'), h('span', { class: 'muted' }, laneName(c.lane_class))),
                  h('td', { class: 'state' }, h('span', { class: 'pill state-' + c.state }, stateName(c.state)), c.state === 'declared' ? h('div', { class: 'muted small' }, t('portal.awaitingAssessment')) : null),
                  h('td', {}, c.channel && c.channel !== 'none' ? h('span', { class: 'pill ch-' + c.channel }, channelName(c.channel)) : '—'),
                  h('td', {}, q.booked_slot ? fmtTime(q.booked_slot, side) : '—'),
                  h('td', { class: 'expected-call' }, d && d.expected_call ? [fmtTime(d.expected_call.at, side), h('div', { class: 'muted small' }, t('portal.position', { n: d.expected_call.position }))] : c.state === 'called' ? t('portal.calledNow') : '—'),
                  h(
                    'td',
                    { class: 'actions' },
                    ev.includes('book')
                      ? h('button', { type: 'button', onclick: () => openBook(c) }, c.state === 'booked' ? t('portal.rebook') : t('portal.book'))
                      : null,
                    ev.includes('cancel_booking') ? h('button', { type: 'button', class: 'secondary', onclick: () => sendEvent(c, 'cancel_booking', {}) }, t('portal.cancelBooking')) : null,
                    ev.includes('cancel') ? h('button', { type: 'button', class: 'danger', onclick: () => openCancel(c) }, t('portal.cancelCrossing')) : null,
                  ),
                ),
                openForm && openForm.id === c.id ? h('tr', { class: 'form-row' }, h('td', { colspan: '7' }, openForm.el)) : null,
              ];
            }),
          ),
        ),
      ),
    );
    if (openForm && openForm.focus) {
      openForm.focus.focus();
      openForm.focus = null;
    }
  }

  async function openBook(c) {
    const slot = h('select', { name: 'slot' }, option('', t('portal.earliest')));
    const f = field(t('portal.slot'), slot, t('portal.slotHint'));
    try {
      const cap = await api('/api/v1/capacity', { query: { direction: c.direction, lane_class: c.lane_class } });
      for (const b of cap.buckets || []) {
        if (b.effective > 0 && b.planned < b.effective) slot.append(option(b.start, `${fmtTime(b.start, side)} — ${t('portal.free', { n: b.effective - b.planned, of: b.effective })}`));
      }
    } catch {
      /* the earliest slot still works */
    }
    const el = h(
      'form',
      {
        class: 'inline-form',
        onsubmit: (e) => {
          e.preventDefault();
          sendEvent(c, 'book', slot.value ? { slot: slot.value } : {});
        },
      },
      f.row,
      h('button', { type: 'submit' }, c.state === 'booked' ? t('portal.rebook') : t('portal.book')),
      h('button', { type: 'button', class: 'secondary', onclick: closeForm }, t('common.close')),
    );
    openForm = { id: c.id, el, focus: slot };
    loadTrucks();
  }

  function openCancel(c) {
    const reason = h('input', { name: 'reason', required: true, autocomplete: 'off', maxlength: '1000' });
    const f = field(t('portal.cancelReason'), reason);
    const el = h(
      'form',
      {
        class: 'inline-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (!reason.value.trim()) {
            f.hint.textContent = t('common.required');
            reason.focus();
            return;
          }
          sendEvent(c, 'cancel', { reason: reason.value.trim() });
        },
      },
      f.row,
      h('button', { type: 'submit', class: 'danger' }, t('portal.cancelCrossing')),
      h('button', { type: 'button', class: 'secondary', onclick: closeForm }, t('common.close')),
    );
    openForm = { id: c.id, el, focus: reason };
    loadTrucks();
  }

  function closeForm() {
    openForm = null;
    loadTrucks();
  }

  async function sendEvent(c, type, data) {
    trucksMessage.textContent = t('common.sending');
    loadError = false;
    try {
      await api(`/api/v1/crossings/${encodeURIComponent(c.id)}/events`, { method: 'POST', body: { type, data, expected_version: c.version } });
      trucksMessage.textContent = t('portal.done', { event: t('event.' + type), plate: c.vehicle.plate.display });
      openForm = null;
    } catch (err) {
      trucksMessage.textContent = errorText(err);
    }
    loadTrucks();
  }

  // --- live ---------------------------------------------------------------------------------
  let debounce = null;
  const feed = openFeed({
    token: session.token,
    onUnauthorized: ctx.sessionExpired,
    onEvent: (ev) => {
      if (ev.event === 'crossing' || ev.event === 'reset' || ev.event === 'hello' || ev.event === 'capacity') {
        clearTimeout(debounce);
        debounce = setTimeout(loadTrucks, 200);
      }
    },
    onState: (s) => {
      feedState.dataset.state = s;
      feedState.textContent = t('feed.' + s);
    },
  });
  const poll = setInterval(() => {
    if (feedState.dataset.state !== 'live') loadTrucks();
  }, 10000);

  lifecycleLoaded.then(() => loadTrucks());

  return () => {
    stopped = true;
    feed.close();
    clearInterval(poll);
    clearTimeout(debounce);
    for (const stop of hsStops) stop();
  };
}
