// Browser tests: the issue's scenario through the pages of each role, against a real borderflow
// node on loopback, with Debian's chromium driven by playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Node, launchBrowser, missingPrerequisite, screenshotDir } from './harness.mjs';

const missing = missingPrerequisite();
const PLATE = '12C-345.67';
const PLATE_KEY = '12C34567';
const OTHER_PLATE = '12C-987.65';
const LIVE_MS = 25000; // the pages follow the feed (they poll only while it is down)

let node;
let browser;
let shots;
const pages = {};

// `prepare(page)` runs before the first navigation (to hold or change requests).
async function signIn(name, lang = 'en', prepare = async () => {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  await prepare(page);
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e.message));
  await page.addInitScript((l) => {
    if (!localStorage.getItem('borderflow.lang')) localStorage.setItem('borderflow.lang', l);
  }, lang);
  await page.goto(node.url + '/#/login');
  // Keyboard only: the token field has the focus; type and press Enter.
  await page.waitForSelector('#login-form input[name=token]');
  await page.keyboard.type(node.tokens[name]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#who');
  assert.equal(page.url().includes(node.tokens[name]), false, 'the token is never in the URL');
  const html = await page.content();
  assert.equal(html.includes(node.tokens[name]), false, 'the token is never in the page');
  return page;
}

// A general-cargo durian truck declared through the API by FRUITCO's forwarder (201).
async function declareThroughApi(plate, driverName, document) {
  const r = await node.api('an.fruitco', 'POST', '/api/v1/crossings', {
    direction: 'VN-CN',
    lane_class: 'general_cargo',
    vehicle: { plate },
    driver: { name: driverName, document_number: document, nationality: 'VN' },
    lines: [{ hs_code: '0810.60', description: 'Fresh durian', packages: 400, gross_weight_kg: 8000, value: { amount: '24000', currency: 'USD' }, origin_country: 'VN' }],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const row = (table, state) => `#${table} tr[data-plate="${PLATE_KEY}"]${state ? `[data-state="${state}"]` : ''}`;

before(async () => {
  if (missing) return;
  shots = screenshotDir();
  node = new Node();
  node.addUser('operator1', 'gate_operator');
  node.addUser('customs1', 'customs_officer');
  node.addUser('guard1', 'border_guard');
  node.addUser('camera1', 'sensor');
  node.addUser('an.fruitco', 'forwarder', 'FRUITCO');
  node.addUser('li.nanning', 'forwarder', 'NANNING-TRADE');
  node.addUser('revoked.op', 'gate_operator');
  node.addUser('revoked.fw', 'forwarder', 'FRUITCO');
  await node.start();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (node) await node.stop();
});

test('a truck from declaration to release, seen by each role and live in the control room', { skip: missing || false, timeout: 300000 }, async () => {
  // The control room of the gate operator stays open (never reloaded) through the whole scenario.
  pages.operator = await signIn('operator1');
  await pages.operator.waitForSelector('#queue-table');
  assert.match(await pages.operator.url(), /#\/control$/);
  assert.ok(await node.hasFeed('operator1'), 'GET /api/v1/feed answers 200');
  // The control room follows the live feed (no polling needed for what follows).
  await pages.operator.waitForSelector('#feed-state[data-state="live"]', { timeout: 20000 });

  // The forwarder declares, with validation as she types.
  const fw = (pages.forwarder = await signIn('an.fruitco'));
  assert.match(fw.url(), /#\/portal$/);
  await fw.selectOption('#declare-form select[name=direction]', 'VN-CN');
  await fw.selectOption('#declare-form select[name=lane_class]', 'fresh_produce');
  await fw.fill('#declare-form input[name=plate]', '12X-1');
  await fw.waitForSelector('#declare-form input[name=plate][aria-invalid="true"]');
  await fw.fill('#declare-form input[name=plate]', '12c 34567');
  await fw.waitForSelector('#declare-form input[name=plate][aria-invalid="false"]');
  assert.match(await fw.textContent(`#${await fw.getAttribute('#declare-form input[name=plate]', 'id')}-hint`), /12C-345\.67/);
  await fw.fill('#declare-form input[name=driver_name]', 'Nguyễn Văn An');
  await fw.fill('#declare-form input[name=driver_document]', 'B0004712');
  await fw.fill('#declare-form input[name=hs_code]', 'durian');
  await fw.waitForSelector('#hs-results button');
  await fw.fill('#declare-form input[name=hs_code]', '0810.60');
  await fw.waitForFunction(() => /✓ 081060/.test(document.querySelector('#declare-form input[name=hs_code]').closest('.field').textContent));
  await fw.fill('#declare-form input[name=description]', 'Fresh durian');
  await fw.fill('#declare-form input[name=packages]', '800');
  await fw.fill('#declare-form input[name=gross_weight_kg]', '160000');
  await fw.waitForSelector('#declare-form input[name=gross_weight_kg][aria-invalid="true"]');
  await fw.fill('#declare-form input[name=gross_weight_kg]', '16000');
  await fw.fill('#declare-form input[name=value]', '48000.00');
  await fw.fill('#declare-form input[name=phytosanitary_certificate]', 'VN-PC-2026-001234');
  await fw.screenshot({ path: path.join(shots, 'portal-declare.png'), fullPage: true });
  await fw.click('#declare-submit');
  await fw.waitForSelector(row('trucks-table', 'declared'));
  // ... and the control room shows it, live.
  await pages.operator.waitForSelector(row('pre-table', 'declared'), { timeout: LIVE_MS });

  // Customs assesses it (no rule set is active on this node) from the control room.
  const customs = (pages.customs = await signIn('customs1'));
  await customs.click(`${row('pre-table')} button`);
  await customs.waitForSelector('#action-assess');
  await customs.selectOption('form[data-event=assess] select[name=channel]', 'yellow');
  await customs.click('#action-assess');
  await customs.waitForSelector('#detail-state:has-text("Assessed")');
  await fw.waitForSelector(row('trucks-table', 'assessed'), { timeout: LIVE_MS });

  // The forwarder books the earliest slot with room.
  await fw.click(`${row('trucks-table')} button:has-text("Book a slot")`);
  await fw.waitForSelector('.inline-form select[name=slot]');
  await fw.click('.inline-form button[type=submit]');
  await fw.waitForSelector(row('trucks-table', 'booked'));
  await fw.waitForFunction((k) => /\d\d:\d\d ICT \(UTC\+7\)/.test(document.querySelector(`#trucks-table tr[data-plate="${k}"] .expected-call`).textContent), PLATE_KEY);
  await pages.operator.waitForSelector(row('pre-table', 'booked'), { timeout: LIVE_MS });

  // The truck arrives: the yard camera's read, posted through the API as a camera would.
  const read = await node.api('camera1', 'POST', '/api/v1/plate-reads', { location: 'yard_entrance', camera: 'yard-in-1', text: '12C-34S.67', confidence: 0.9 });
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(read.body.outcome, 'matched');
  await pages.operator.waitForSelector(row('yard-table', 'in_yard'), { timeout: LIVE_MS });

  // The operator calls it forward.
  const op = pages.operator;
  await op.click('#queue-table tr[data-lane="VN-CN/fresh_produce"] button.call-next');
  await op.waitForSelector(row('yard-table', 'called'));
  await op.waitForSelector('#detail-state:has-text("Called forward")');
  await fw.waitForSelector(row('trucks-table', 'called'), { timeout: LIVE_MS });
  await op.screenshot({ path: path.join(shots, 'control-room.png'), fullPage: true });

  // At the gate (the gate camera), customs inspects and releases.
  const gateRead = await node.api('camera1', 'POST', '/api/v1/plate-reads', { location: 'gate', camera: 'gate-1', text: PLATE, confidence: 0.95 });
  assert.equal(gateRead.status, 200, JSON.stringify(gateRead.body));
  await customs.waitForSelector(row('gate-table', 'at_gate'), { timeout: LIVE_MS });
  await customs.click(`${row('gate-table')} button`);
  await customs.waitForSelector('#action-start_inspection');
  await customs.click('#action-start_inspection');
  await customs.waitForSelector('#action-record_inspection');
  await op.waitForSelector(row('gate-table', 'inspecting'), { timeout: LIVE_MS });
  await customs.selectOption('form[data-event=record_inspection] select[name=outcome]', 'no_finding');
  await customs.fill('form[data-event=record_inspection] input[name=note]', 'Durian checked, no finding');
  await customs.click('#action-record_inspection');
  await customs.waitForSelector('#action-release');
  await customs.waitForSelector('#detail-timeline li[data-action="record_inspection"]');
  await customs.screenshot({ path: path.join(shots, 'control-room-customs.png'), fullPage: true });
  await customs.click('#action-release');
  await customs.waitForSelector('#detail-state:has-text("Released")');
  await op.waitForSelector(row('gate-table', 'released'), { timeout: LIVE_MS });
  await op.waitForSelector('#live-events li[data-kind="crossing"]');
  await fw.waitForSelector(row('trucks-table', 'released'), { timeout: LIVE_MS });
});

test('the public board shows the wait, and no plate or company', { skip: missing || false, timeout: 60000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'vi-VN' });
  const page = await context.newPage();
  await page.goto(node.url + '/#/board');
  await page.waitForSelector('table.board tr[data-lane="VN-CN/fresh_produce"] td.wait strong');
  const text = await page.textContent('body');
  assert.match(text, /Thời gian chờ dự kiến/);
  assert.match(text, /\d+ phút/);
  for (const secret of [PLATE, PLATE_KEY, 'FRUITCO', 'NANNING', 'Nguyễn']) assert.equal(text.includes(secret), false, `the board shows ${secret}`);
  const html = await page.content();
  assert.equal(html.includes(PLATE_KEY), false);
  // Readable on a phone: nothing wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the board overflows a phone screen by ${overflow}px`);
  await page.screenshot({ path: path.join(shots, 'board-phone-vi.png'), fullPage: true });
  await context.close();
});

test('a forwarder cannot see another company’s truck', { skip: missing || false, timeout: 60000 }, async () => {
  // NANNING-TRADE declares a truck of its own through the API; FRUITCO's truck must not appear.
  const r = await node.api('li.nanning', 'POST', '/api/v1/crossings', {
    direction: 'VN-CN',
    lane_class: 'general_cargo',
    vehicle: { plate: OTHER_PLATE },
    driver: { name: 'Li Wei', document_number: 'E1234567', nationality: 'CN' },
    lines: [{ hs_code: '8517.13', description: 'Phones', packages: 10, gross_weight_kg: 500, value: { amount: '1000', currency: 'USD' }, origin_country: 'CN' }],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const page = await signIn('li.nanning');
  await page.check('#show-done');
  await page.waitForSelector('#trucks-table tr[data-plate="12C98765"]');
  const text = await page.textContent('main');
  assert.equal(text.includes(PLATE), false, 'another company’s plate is shown');
  const id = (await node.api('an.fruitco', 'GET', '/api/v1/crossings?plate=' + encodeURIComponent(PLATE))).body.items[0].id;
  const status = await page.evaluate(async (cid) => {
    const res = await fetch('/api/v1/crossings/' + cid, { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('borderflow.token') } });
    return res.status;
  }, id);
  assert.equal(status, 404);
  await page.context().close();
});

test('a crossing picked before the lifecycle has loaded still gets its actions', { skip: missing || false, timeout: 60000 }, async () => {
  // The control room loads who may send which event (GET /api/v1/lifecycle) beside its lists and
  // the live feed. Held back here until a crossing has been picked: its actions must still come.
  await declareThroughApi('12C-111.22', 'Trần Văn Bình', 'B0001122');
  let releaseLifecycle;
  const held = new Promise((resolve) => (releaseLifecycle = resolve));
  let asked = false;
  const page = await signIn('customs1', 'en', (p) =>
    p.route('**/api/v1/lifecycle', async (route) => {
      asked = true;
      await held;
      await route.continue();
    }),
  );
  // The detail reads the crossing's history and assessment, and would render then.
  const assessment = page.waitForResponse((res) => res.url().includes('/assessment'));
  await page.click('#pre-table tr[data-plate="12C11122"] button');
  await assessment;
  await page.waitForTimeout(300);
  assert.equal(asked, true, 'the control room asked for the lifecycle');
  assert.equal(await page.$('#action-assess'), null, 'an action shown before the lifecycle is known');
  releaseLifecycle();
  await page.waitForSelector('#action-assess', { timeout: 10000 });
  await page.context().close();
});

test('a slow older load of the detail never puts back a state the crossing has left', { skip: missing || false, timeout: 60000 }, async () => {
  // The detail is loaded on a click, on the live feed and on the poll, and these loads overlap.
  // Here a load started before an action is held back until the action's own load has drawn
  // the new state and the feed has gone quiet: when it finally comes, it must not draw the old
  // state (and its old forms), which nothing would then replace until the crossing changed.
  const declared = await declareThroughApi('12C-333.44', 'Lê Văn Cường', 'B0003344');
  const page = await signIn('customs1');
  const pick = '#pre-table tr[data-plate="12C33344"] button';
  await page.click(pick);
  await page.waitForSelector('#action-assess');
  let releaseOld;
  const held = new Promise((resolve) => (releaseOld = resolve));
  let holding = true;
  let oldAsked;
  const asked = new Promise((resolve) => (oldAsked = resolve));
  await page.route('**/api/v1/crossings/*/events', async (route) => {
    if (route.request().method() === 'GET' && holding) {
      holding = false;
      oldAsked();
      await held;
    }
    await route.continue();
  });
  // The older load: it has read the crossing before the action and waits for its history.
  await page.click(pick);
  await asked;
  await page.click('#action-assess');
  let after = null;
  for (let i = 0; i < 100 && !after; i++) {
    const c = await node.api('customs1', 'GET', '/api/v1/crossings/' + declared.id);
    if (c.body.version !== declared.version) after = c.body;
    else await page.waitForTimeout(100);
  }
  assert.ok(after, 'the assessment was not recorded');
  assert.notEqual(after.state, declared.state);
  await page.waitForSelector(`.detail[data-state="${after.state}"]`, { timeout: 10000 });
  await page.waitForTimeout(2000); // what the action set off on the feed has been drawn
  releaseOld();
  const seen = new Set();
  for (let i = 0; i < 30; i++) {
    seen.add(await page.getAttribute('.detail', 'data-state'));
    await page.waitForTimeout(50);
  }
  assert.deepEqual([...seen], [after.state], 'an older load drew a state the crossing has left');
  assert.equal(await page.$('#action-assess'), null, 'the form of the old state came back');
  await page.context().close();
});

test('an action refused because the crossing changed meanwhile loads it again, with the reason', { skip: missing || false, timeout: 60000 }, async () => {
  // Without the live feed (held off here) the page learns of another officer's change only on
  // its poll; an action sent meanwhile carries the old version and is refused (409). The detail
  // is then loaded again at once: the current state, its actions, and the reason in the message.
  const declared = await declareThroughApi('12C-444.55', 'Vũ Văn Dũng', 'B0004455');
  const page = await signIn('customs1', 'en', (p) => p.route('**/api/v1/feed*', (route) => route.abort('connectionrefused')));
  await page.click('#pre-table tr[data-plate="12C44455"] button');
  await page.waitForSelector('#action-assess');
  const other = await node.api('customs1', 'POST', `/api/v1/crossings/${declared.id}/events`, { type: 'assess', data: { channel: 'yellow', quarantine_inspection: false }, expected_version: declared.version });
  assert.equal(other.status, 200, JSON.stringify(other.body));
  const now = (await node.api('customs1', 'GET', '/api/v1/crossings/' + declared.id)).body;
  assert.notEqual(now.state, declared.state);
  await page.click('#action-assess');
  await page.waitForSelector(`.detail[data-state="${now.state}"]`, { timeout: 5000 });
  assert.equal(await page.$('#action-assess'), null, 'the refused form is still offered');
  assert.match(await page.textContent('#control-message'), /changed this crossing in the meantime/);
  await page.context().close();
});

test('the language switch changes the page text and is remembered', { skip: missing || false, timeout: 60000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(node.url + '/#/board');
  await page.selectOption('#lang-select', 'en');
  await page.waitForSelector('h1:has-text("Expected waiting times")');
  await page.screenshot({ path: path.join(shots, 'board-en.png'), fullPage: true });
  await page.selectOption('#lang-select', 'zh');
  await page.waitForSelector('h1:has-text("预计等待时间")');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh');
  assert.match(await page.textContent('nav'), /等待时间公告/);
  // The Chinese page is legible, not a row of empty boxes: the browser has a font with CJK
  // glyphs (scripts/setup.sh installs fonts-wqy-microhei), so two different characters drawn in
  // the heading's font differ. Without one, both are the same missing-glyph box.
  const cjkGlyphsDiffer = await page.evaluate(() => {
    const family = getComputedStyle(document.querySelector('h1')).fontFamily;
    const draw = (text) => {
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 64;
      const context = canvas.getContext('2d');
      context.font = `40px ${family}`;
      context.fillText(text, 4, 48);
      return canvas.toDataURL();
    };
    return draw('预') !== draw('时');
  });
  assert.ok(cjkGlyphsDiffer, 'Chinese text draws as missing-glyph boxes: the browser has no CJK font');
  await page.screenshot({ path: path.join(shots, 'board-zh.png'), fullPage: true });
  await page.reload();
  await page.waitForSelector('h1:has-text("预计等待时间")');
  await page.selectOption('#lang-select', 'vi');
  await page.waitForSelector('h1:has-text("Thời gian chờ dự kiến")');
  await page.goto(node.url + '/#/login');
  await page.waitForSelector('h1:has-text("Đăng nhập")');
  await page.screenshot({ path: path.join(shots, 'login-vi.png'), fullPage: true });
  await context.close();
});

test('every form field has a label and sign-out forgets the token', { skip: missing || false, timeout: 60000 }, async () => {
  for (const [name, who] of [
    ['forwarder', 'an.fruitco'],
    ['operator', 'operator1'],
  ]) {
    const page = pages[name] || (await signIn(who));
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.name || el.id),
    );
    assert.deepEqual(unlabelled, [], `${name}: fields without a label`);
    const divButtons = await page.evaluate(() => document.querySelectorAll('div[onclick], span[onclick]').length);
    assert.equal(divButtons, 0);
  }
  const page = pages.forwarder;
  await page.click('#sign-out');
  await page.waitForSelector('#login-form');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('borderflow.token')), null);
});

// A page opened with a token already in the tab (as after a reload), in `lang`, at `size`.
async function openWithToken(name, hash, { lang = 'en', size = { width: 1366, height: 900 }, prepare = async () => {} } = {}) {
  const context = await browser.newContext({ viewport: size, isMobile: size.width < 500, locale: 'en-US' });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name || 'public'}] page error:`, e.message));
  await prepare(page);
  await page.addInitScript(
    ([tok, l]) => {
      if (tok && !sessionStorage.getItem('borderflow.started')) {
        sessionStorage.setItem('borderflow.token', tok);
        sessionStorage.setItem('borderflow.started', '1');
      }
      localStorage.setItem('borderflow.lang', l);
    },
    [name ? node.tokens[name] : '', lang],
  );
  await page.goto(node.url + '/#/' + hash);
  return page;
}

test('the portal, the control room and the wait board fit a 360 px phone', { skip: missing || false, timeout: 90000 }, async () => {
  for (const [name, hash, ready] of [
    ['an.fruitco', 'portal', '#trucks-table, #trucks p'],
    ['operator1', 'control', '#queue-table'],
    [null, 'board', 'table.board'],
  ]) {
    for (const lang of ['vi', 'zh']) {
      const page = await openWithToken(name, hash, { lang, size: { width: 360, height: 740 } });
      await page.waitForSelector(ready);
      if (hash === 'control') {
        // With a crossing open in the detail too (lines, documents, timeline, actions).
        await page.click('#gate-table tr button');
        await page.waitForSelector('#detail-timeline li');
      }
      await page.waitForTimeout(300);
      const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
      // A phone browser widens its layout viewport to the content: compare with 360 px as well.
      assert.ok(scroll <= inner && inner <= 360, `${hash} (${lang}) is ${scroll} px wide on a ${inner} px (360 px) screen`);
      if (lang === 'vi') await page.screenshot({ path: path.join(shots, `${hash}-phone-vi.png`), fullPage: true });
      await page.context().close();
    }
  }
});

test('a token revoked while the pages are open signs them out and drops what they show', { skip: missing || false, timeout: 90000 }, async () => {
  const control = await signIn('revoked.op', 'vi');
  await control.waitForSelector('#queue-table');
  const portal = await signIn('revoked.fw', 'zh');
  await portal.waitForSelector('#trucks-table');
  node.cli(['token', 'revoke', '--db', node.db, '--config', node.config, '--user', 'revoked.op']);
  node.cli(['token', 'revoke', '--db', node.db, '--config', node.config, '--user', 'revoked.fw']);
  // The next request of each page is answered 401 (the feed is closed by the server too).
  await control.click('#pre-table tr button, #gate-table tr button', { timeout: 3000 }).catch(() => {});
  await portal.click('#show-done', { timeout: 3000 }).catch(() => {});
  for (const [page, text] of [
    [control, /Phiên đăng nhập không còn hiệu lực/],
    [portal, /您的登录已失效/],
  ]) {
    await page.waitForSelector('#login-form', { timeout: 20000 });
    assert.match(page.url(), /#\/login$/);
    assert.match(await page.textContent('#login-message'), text);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('borderflow.token')), null);
    assert.equal(await page.$('#queue-table, #trucks-table, #detail-heading'), null, 'the data of the signed-out page is still shown');
    assert.equal(await page.$('#who'), null);
    // Nothing keeps asking with the revoked token.
    let asked = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/') && r.headers().authorization) asked += 1;
    });
    await page.waitForTimeout(11000);
    assert.equal(asked, 0, 'the page keeps polling with the revoked token');
    await page.context().close();
  }
});

test('a server down or busy at load keeps the token, says so and retries', { skip: missing || false, timeout: 60000 }, async () => {
  let answers = 0;
  const page = await openWithToken('operator1', 'control', {
    lang: 'vi',
    prepare: (p) =>
      p.route('**/api/v1/me', async (route) => {
        answers += 1;
        if (answers === 1) return route.abort('connectionrefused');
        if (answers === 2)
          return route.fulfill({
            status: 429,
            headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' },
            body: JSON.stringify({ type: 'https://borderflow.dev/problems/rate_limited', title: 'Too many requests', status: 429, detail: 'slow down', code: 'rate_limited' }),
          });
        if (answers === 3)
          return route.fulfill({
            status: 503,
            headers: { 'Content-Type': 'application/problem+json' },
            body: JSON.stringify({ type: 'https://borderflow.dev/problems/overloaded', title: 'Service unavailable', status: 503, detail: 'overloaded', code: 'overloaded' }),
          });
        return route.continue();
      }),
  });
  await page.waitForSelector('#retrying');
  assert.match(await page.textContent('#retrying'), /Không kết nối được máy chủ hoặc máy chủ đang bận: đang thử lại/);
  assert.equal(await page.$('#login-form'), null, 'the sign-in form is shown for a server that is down');
  assert.ok(await page.evaluate(() => sessionStorage.getItem('borderflow.token')), 'the token was dropped');
  // Retried by itself (backoff, Retry-After): the control room comes when the server answers.
  await page.waitForSelector('#queue-table', { timeout: 30000 });
  assert.ok(answers >= 4);
  await page.context().close();
});

test('a forwarder opening the control room is told so, with a link to the portal', { skip: missing || false, timeout: 30000 }, async () => {
  const page = await openWithToken('an.fruitco', 'control', { lang: 'vi' });
  await page.waitForSelector('#forbidden');
  assert.match(await page.textContent('#forbidden'), /Trang này không dành cho vai trò của bạn \(Doanh nghiệp giao nhận\)\./);
  assert.equal(await page.$('#login-form'), null);
  assert.match(await page.textContent('#forbidden-home'), /^Đi tới /);
  await page.click('#forbidden-home');
  await page.waitForSelector('#declare-form');
  assert.match(page.url(), /#\/portal$/);
  await page.context().close();
});

test('declaring: container and seal, errors in the reader’s language on the field, all shown in the control room', { skip: missing || false, timeout: 120000 }, async () => {
  const fw = await openWithToken('an.fruitco', 'portal', { lang: 'vi' });
  await fw.waitForSelector('#declare-form');
  // The server's limits are applied as maxlength.
  assert.equal(await fw.getAttribute('#declare-form input[name=driver_name]', 'maxlength'), '100');
  assert.equal(await fw.getAttribute('#declare-form input[name=driver_document]', 'maxlength'), '32');
  assert.equal(await fw.getAttribute('#declare-form input[name=phytosanitary_certificate]', 'maxlength'), '64');
  // No nested brackets in the freshness label.
  assert.doesNotMatch(await fw.textContent('#declare-form'), /\([^()]*\(/);
  await fw.selectOption('#declare-form select[name=direction]', 'VN-CN');
  await fw.selectOption('#declare-form select[name=lane_class]', 'general_cargo');
  await fw.fill('#declare-form input[name=plate]', '12C-222.33');
  await fw.fill('#declare-form input[name=trailer_plate]', '12R-012.34');
  await fw.fill('#declare-form input[name=container_number]', 'CSQU3054384'); // wrong check digit
  await fw.fill('#declare-form input[name=seal_number]', 'VNCS-778899');
  await fw.fill('#declare-form input[name=driver_name]', 'Phạm Văn Cường');
  await fw.fill('#declare-form input[name=driver_document]', 'B0009988');
  // Vietnamese words find the code; the suggestion shows the everyday name, and choosing it fills
  // the code.
  await fw.fill('#declare-form input[name=hs_code]', 'sầu riêng');
  await fw.click('#hs-results button:has-text("sầu riêng")');
  assert.equal(await fw.inputValue('#declare-form input[name=hs_code]'), '0810.60');
  await fw.waitForFunction(() => /✓ 081060/.test(document.querySelector('#declare-form input[name=hs_code]').closest('.field').textContent));
  await fw.fill('#declare-form input[name=description]', 'Fresh durian');
  await fw.fill('#declare-form input[name=packages]', '300');
  await fw.fill('#declare-form input[name=gross_weight_kg]', '6000');
  await fw.fill('#declare-form input[name=value]', '18000.00');
  // A second goods line (checked before sending like the first).
  await fw.click('#add-line');
  // The second line has an HS search of its own: words give suggestions in its own list.
  await fw.fill('#declare-form input[name="lines[1].hs_code"]', 'mango');
  await fw.waitForSelector('#declare-form [data-line="2"] .hs-results button');
  assert.equal(await fw.locator('#hs-results button').count(), 0, 'the first line list stays empty');
  await fw.fill('#declare-form input[name="lines[1].hs_code"]', '0804');
  await fw.fill('#declare-form input[name="lines[1].description"]', 'Fresh mangoes');
  await fw.fill('#declare-form input[name="lines[1].packages"]', '50');
  await fw.fill('#declare-form input[name="lines[1].gross_weight_kg"]', '900');
  await fw.fill('#declare-form input[name="lines[1].value"]', '1500');
  await fw.click('#declare-submit');
  await fw.waitForSelector('#declare-form input[name="lines[1].hs_code"][aria-invalid="true"]');
  // The search for what was typed just before sending does not take the mark back.
  await fw.waitForTimeout(1000);
  assert.equal(await fw.getAttribute('#declare-form input[name="lines[1].hs_code"]', 'aria-invalid'), 'true', 'a late search cleared the error');
  await fw.fill('#declare-form input[name="lines[1].hs_code"]', '0804.50');
  await fw.waitForFunction(() => /✓ 080450/.test(document.querySelector('#declare-form input[name="lines[1].hs_code"]').closest('.field').textContent));
  await fw.fill('#declare-form input[name=customs_declaration]', '305123456789');
  await fw.fill('#declare-form input[name=phytosanitary_certificate]', 'VN-PC-2026-009988');
  await fw.fill('#declare-form input[name=certificate_of_origin]', 'E2026-VN-001122');

  // A network failure: "server unreachable" in Vietnamese, not "Failed to fetch".
  const isPost = (route) => route.request().method() === 'POST';
  await fw.route('**/api/v1/crossings', (route) => (isPost(route) ? route.abort('connectionrefused') : route.continue()));
  await fw.click('#declare-submit');
  await fw.waitForFunction(() => /Không kết nối được máy chủ/.test(document.querySelector('#declare-message').textContent));
  await fw.unroute('**/api/v1/crossings');
  // A field error the page cannot see before sending (as the server names it): driver.name.
  await fw.route('**/api/v1/crossings', (route) =>
    isPost(route)
      ? route.fulfill({
          status: 400,
          headers: { 'Content-Type': 'application/problem+json' },
          body: JSON.stringify({ type: 'https://borderflow.dev/problems/field_too_long', title: 'Invalid request', status: 400, detail: "'driver.name' has at most 100 bytes", code: 'field_too_long', field: 'driver.name' }),
        })
      : route.continue(),
  );
  await fw.click('#declare-submit');
  await fw.waitForSelector('#declare-form input[name=driver_name][aria-invalid="true"]');
  const nameHint = await fw.getAttribute('#declare-form input[name=driver_name]', 'aria-describedby');
  assert.equal(await fw.textContent('#' + nameHint), 'Họ tên lái xe quá dài.');
  await fw.unroute('**/api/v1/crossings');
  // The real server: the container number's check digit is wrong.
  await fw.click('#declare-submit');
  await fw.waitForSelector('#declare-form input[name=container_number][aria-invalid="true"]');
  const containerHint = await fw.getAttribute('#declare-form input[name=container_number]', 'aria-describedby');
  assert.match(await fw.textContent('#' + containerHint), /Số container: số container không hợp lệ/);
  assert.doesNotMatch(await fw.textContent('#declare-message'), /[Cc]heck digit|ISO 6346 container number/);
  await fw.fill('#declare-form input[name=container_number]', 'CSQU3054383');
  await fw.click('#declare-submit');
  await fw.waitForSelector('#trucks-table tr[data-plate="12C22233"]');

  // The control room shows the vehicle, the documents and every line.
  const r = await node.api('an.fruitco', 'POST', '/api/v1/crossings', {
    direction: 'VN-CN',
    lane_class: 'general_cargo',
    vehicle: { plate: '12C-444.55' },
    driver: { name: 'Lê Thị Hoa', document_number: 'B0004455', nationality: 'VN' },
    lines: [
      { hs_code: '0810.60', description: 'Fresh durian', packages: 100, gross_weight_kg: 2000, value: { amount: '6000', currency: 'USD' }, origin_country: 'VN' },
      { hs_code: '0804.50', description: 'Fresh mangoes', packages: 50, gross_weight_kg: 900, value: { amount: '1500', currency: 'USD' }, origin_country: 'VN' },
    ],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const op = await openWithToken('customs1', 'control', { lang: 'en' });
  await op.click('#pre-table tr[data-plate="12C22233"] button');
  await op.waitForSelector('#detail-container');
  assert.equal(await op.textContent('#detail-container'), 'CSQU3054383');
  assert.equal(await op.textContent('#detail-seal'), 'VNCS-778899');
  assert.equal(await op.textContent('#detail-trailer'), '12R-012.34');
  const docs = await op.textContent('#detail-documents');
  for (const number of ['305123456789', 'VN-PC-2026-009988', 'E2026-VN-001122']) assert.ok(docs.includes(number), `${number} not in ${docs}`);
  assert.equal(await op.$$eval('#detail-lines tbody tr', (rows) => rows.length), 2);
  await op.click('#pre-table tr[data-plate="12C44455"] button');
  await op.waitForFunction(() => document.querySelectorAll('#detail-lines tbody tr').length === 2);
  assert.match(await op.textContent('#detail-lines'), /Fresh mangoes/);
  await fw.context().close();
  await op.context().close();
});

test('stale errors go once the data comes back; the board keeps the age of what it shows', { skip: missing || false, timeout: 90000 }, async () => {
  const fw = await openWithToken('an.fruitco', 'portal', { lang: 'en' });
  await fw.waitForSelector('#trucks-table, #trucks p');
  const list = (url) => new URL(url).pathname === '/api/v1/crossings';
  await fw.route(list, (route) => (route.request().method() === 'GET' ? route.abort('connectionrefused') : route.continue()));
  await fw.click('#show-done');
  await fw.waitForFunction(() => /cannot be reached/.test(document.querySelector('#trucks-message').textContent));
  await fw.unroute(list);
  await fw.click('#show-done');
  await fw.waitForFunction(() => document.querySelector('#trucks-message').textContent === '');
  await fw.context().close();

  const board = await openWithToken(null, 'board', { lang: 'vi', prepare: (p) => p.clock.install() });
  await board.waitForSelector('table.board');
  await board.waitForFunction(() => /Cập nhật lúc \d\d:\d\d/.test(document.querySelector('#board-updated').textContent));
  await board.route('**/api/v1/wait-board', (route) => route.abort('connectionrefused'));
  await board.clock.runFor(31000);
  await board.waitForSelector('#board-error:not([hidden])');
  assert.match(await board.textContent('#board-error'), /Không kết nối được máy chủ/);
  assert.match(await board.textContent('#board-updated'), /Cập nhật lúc \d\d:\d\d/, 'the age of the data shown is gone');
  await board.unroute('**/api/v1/wait-board');
  await board.clock.runFor(31000);
  await board.waitForSelector('#board-error[hidden]', { state: 'attached' });
  await board.context().close();
});
