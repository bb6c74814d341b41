// The instructor dashboard in a real browser against a real `wod up` (real Linux accounts
// wodadmN with uids 65000+N, the test JupyterHub, content rendered into real homes):
//  1. a participant registers through the API and becomes Ready;
//  2. a wrong token is refused on the login form (and not kept);
//  3. the admin signs in on the locations overview: location 'local' live, its controller's
//     lease and last pass, 1 seat occupied, Drain and Disable offered; opening it (and the
//     browser's back and forward) loads its seats;
//  4. the seat shows Ready with its occupant; every rendered control is labelled and all
//     visible text is at least 4.5:1 (on the overview too); a notebook cell executed in the
//     home shows as 25 % live progress;
//  5. a filter and the keyboard focus survive the 2 s refresh;
//  6. Reset: Enter opens the confirmation, Escape cancels it (nothing changes, the focus
//     returns); confirmed, it goes through the controller (reset_epoch 0 -> 1, the new
//     generation observed), the seat is Ready again and its content pristine (0 %);
//  7. Extend by 60 minutes moves the deadline and the time left by an hour;
//  8. the CSV download holds the registration, the formula cell neutralised, live completion;
//  9. an operator token is read only, on the overview (Drain) and on the seats (Reset): a
//     message, no dialog; the API answers it 403;
// 10. a foreign user in the managed uid range appears in "Drift outside the seats" and goes;
// 11. the phone layout (cards) and the large type render.
// No request leaves 127.0.0.1 and the page logs no error beyond the expected 401/403.
// Screenshots: $WOD_SCREENSHOT_DIR/dashboard-NN-*.png, listed in docs/dashboard.md.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { test } = require('node:test');
const h = require('./lib/harness');

h.requireServices();

const EMAIL = 'ada.dashboard@example.com';
const NAME = 'Ada Dashboard';
const COMPANY = '=SUM(1,2)';  // typed by a participant: must not become a formula in the CSV

// A user the controller does not own, in its managed uid range (65000 + 0..99).
const FOREIGN_USER = 'dashintruder';
const FOREIGN_UID = 65090;

function removeForeignUser() {
  if (!fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${FOREIGN_USER}:`))) return;
  const r = spawnSync('userdel', [FOREIGN_USER], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

// Marks the first unexecuted code cell of notebook `file` in `user`'s home as executed, as
// Jupyter would save it after a run (the file keeps its owner: written in place).
function executeOneCell(user, file) {
  const home = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .map((l) => l.split(':')).find((f) => f[0] === user)[5];
  const find = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isFile() && e.name === file) return p;
      if (e.isDirectory() && !e.name.startsWith('.')) {
        const found = find(p);
        if (found) return found;
      }
    }
    return null;
  };
  const nb = find(home);
  assert.ok(nb, `${file} in ${home}`);
  const doc = JSON.parse(fs.readFileSync(nb, 'utf8'));
  const cell = doc.cells.find((c) => c.cell_type === 'code' && c.execution_count == null);
  cell.execution_count = 1;
  cell.outputs = [{ output_type: 'stream', name: 'stdout', text: ['done\n'] }];
  fs.writeFileSync(nb, JSON.stringify(doc, null, 1));
}

// Polls `fn` until it returns a truthy value; fails with `what` after `ms`.
async function until(what, fn, ms = 60000, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await h.sleep(every);
  }
}

// Accessibility basics on the live page: every rendered control labelled, every table header
// scoped, and every piece of visible text at least 4.5:1 against the background it is drawn on
// (at least `minChecked` of them).
async function checkAccessibility(page, minChecked) {
  const a11y = await page.evaluate(() => {
    const problems = [];
    for (const c of document.querySelectorAll('input, select, button')) {
      if (!c.getClientRects().length) continue;  // not rendered (hidden, a closed dialog)
      const named = (c.labels && c.labels.length > 0) || c.getAttribute('aria-label') ||
                    (c.tagName === 'BUTTON' && c.textContent.trim());
      if (!named) problems.push(`unlabelled ${c.tagName} #${c.id}`);
    }
    for (const th of document.querySelectorAll('.dash-table th')) {
      if (!th.scope) problems.push(`th without scope: ${th.textContent}`);
    }
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (e) => {
      for (; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
      }
      return [255, 255, 255];
    };
    let checked = 0;
    for (const e of document.querySelectorAll('body *')) {
      const text = Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!text || !e.getClientRects().length || e.closest('.visually-hidden, [hidden]')) continue;
      const fg = lum(rgb(getComputedStyle(e).color));
      const bg = lum(background(e));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      checked++;
      if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} of '${e.textContent.trim().slice(0, 30)}'`);
    }
    return { problems, checked };
  });
  assert.deepEqual(a11y.problems, [], 'accessibility');
  assert.ok(a11y.checked > minChecked, `contrast checked on ${a11y.checked} elements`);
}

test('the dashboard shows, resets, extends and exports a real seat', { timeout: 300000 }, async (t) => {
  const wod = await h.startWod({ name: 'dashboard', userPrefix: 'wodadm', uidBase: 65000 });
  let b = null;
  try {
    const admin = { Authorization: `Bearer ${wod.adminToken}` };
    const made = spawnSync(process.env.WOD_BIN, ['token', 'create', '--store', wod.storeUrl, '--role',
                                                 'operator', '--name', 'dashboard-operator'],
                           { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const operatorToken = made.stdout.trim();
    const operator = { Authorization: `Bearer ${operatorToken}` };

    const seatOf = async (location, n) => {
      const r = await wod.api('GET', '/api/v1/seats', undefined, admin);
      assert.equal(r.status, 200);
      return r.body.seats.find((s) => s.location === location && s.seat === n);
    };
    const converged = (s) => s && s.phase === 'Ready' && s.status &&
                             s.status.observed_generation >= s.generation;

    // --- a participant registers and becomes Ready (through the API) ---
    const reg = await wod.api('POST', '/api/v1/registrations', {
      workshop: 'WKSHP-Web-Shell', email: EMAIL, name: NAME, company: COMPANY, accept_terms: true,
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const { location, seat: n, id: regId } = reg.body.registration;
    const key = `${location}/${n}`;
    const before = await until('the seat to be Ready', async () => {
      const s = await seatOf(location, n);
      return converged(s) && s;
    });
    assert.equal(before.occupant.email, EMAIL);
    assert.equal(before.reset_epoch, 0);

    b = await h.launchBrowser();
    const page = await b.page();
    const row = page.locator(`tr[data-seat="${key}"]`);

    // --- a wrong token is refused with a clear message ---
    await page.goto(`${wod.baseUrl}/dashboard`);
    await page.locator('#dash-token').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dash-token');
    await h.screenshot(page, 'dashboard-01-login');
    await page.fill('#dash-token', `wod_${'0'.repeat(64)}`);
    await page.click('#dash-login-form button[type=submit]');
    await until('the wrong-token message', async () =>
      /not accepted: it is unknown or revoked/.test(await page.textContent('#dash-login-error')), 10000);
    assert.equal(await page.getAttribute('#dash-token', 'aria-invalid'), 'true');
    assert.equal(await page.isVisible('#dash-board'), false);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
    await h.screenshot(page, 'dashboard-02-wrong-token');

    // --- the admin signs in: the seat is Ready with its occupant ---
    await page.fill('#dash-token', wod.adminToken);
    await page.click('#dash-login-form button[type=submit]');
    // The first view is the locations overview: no seat is loaded until a location is opened.
    const locRow = page.locator(`tr[data-location="${location}"]`);
    await locRow.waitFor({ timeout: 10000 });
    assert.equal(await row.count(), 0, 'no seat before a location is opened');
    await until('the location to show live', async () => (await locRow.getAttribute('data-live')) === 'true', 10000);
    assert.match(await locRow.locator('.dash-lcol-state').textContent(), /Active\s*live/);
    assert.match(await locRow.locator('.dash-lcol-lease').textContent(), /\S+ #\d+/, 'lease holder #epoch');
    assert.match(await locRow.locator('.dash-lcol-pass').textContent(), /took \d+ ms/);
    assert.equal((await locRow.locator('.dash-lcol-occupied').textContent()).trim(), '1');
    assert.equal(await locRow.locator('button[data-action=drain]').isVisible(), true);
    assert.equal(await locRow.locator('button[data-action=disable]').isVisible(), true);
    assert.equal(await locRow.locator('button[data-action=activate]').isVisible(), false);
    assert.match(await page.textContent('#dash-loc-summary [data-count=live]'), /1\s*Live/);
    await checkAccessibility(page, 20);
    await h.screenshot(page, 'dashboard-03-locations');
    await locRow.locator('a.dash-loc-open').click();
    await row.waitFor({ timeout: 10000 });
    assert.equal(new URL(page.url()).hash, `#location=${location}`);
    // The browser's back and forward move between the overview and the location.
    await page.goBack();
    await locRow.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await page.isVisible('#dash-seats'), false);
    await page.goForward();
    await row.waitFor({ state: 'visible', timeout: 10000 });
    await until('the row to show Ready', async () => (await row.getAttribute('data-phase')) === 'Ready', 10000);
    const rowText = await row.textContent();
    assert.match(rowText, new RegExp(NAME));
    assert.match(rowText, new RegExp(EMAIL.replace(/\./g, '\\.')));
    assert.match(await page.textContent('#dash-role'), /admin/);
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).join()), 'wod.dashboard.token');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the token is in no cookie');
    assert.match(await page.textContent('#dash-summary'), /1\s*Occupied/);
    // The participant runs one of the workshop's 4 code cells: the live progress shows 25 %.
    executeOneCell(`${wod.userPrefix}${n}`, '1-Files.ipynb');
    await until('the live progress', async () =>
      /25 %/.test(await row.locator('.dash-col-progress').textContent()), 30000);
    assert.notEqual((await row.locator('.dash-col-activity').textContent()).trim(), '—');
    await h.screenshot(page, 'dashboard-04-seat-ready');
    // Accessibility basics on the live page: every control labelled, table headers scoped,
    // and every piece of text at least 4.5:1 against the background it is drawn on.
    await checkAccessibility(page, 50);

    // --- a filter and the focus survive the refresh ---
    await page.focus('#dash-f-text');
    await page.keyboard.type('ada.dash');
    await until('the filter to apply', async () =>
      (await page.locator('tr.dash-row:visible').count()) === 1, 5000);
    const updated = await page.textContent('#dash-updated');
    await until('a refresh', async () => (await page.textContent('#dash-updated')) !== updated, 10000);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dash-f-text');
    assert.equal(await page.inputValue('#dash-f-text'), 'ada.dash');
    assert.equal(await page.locator('tr.dash-row:visible').count(), 1);
    await h.screenshot(page, 'dashboard-05-filtered');

    // --- reset: keyboard opens and cancels the confirmation, then it is confirmed ---
    const resetButton = row.locator('button[data-action=reset]');
    await resetButton.focus();
    await page.keyboard.press('Enter');
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    assert.match(await page.textContent('#dash-dialog'), new RegExp(`Reset seat ${n} \\(${location}\\)\\?`));
    assert.match(await page.textContent('#dash-dialog'), new RegExp(NAME));
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dash-dialog-cancel',
                 'a destructive confirmation starts on Cancel');
    await h.screenshot(page, 'dashboard-06-reset-confirm');
    await page.keyboard.press('Escape');
    await until('the dialog to close', async () => !(await page.locator('#dash-dialog[open]').count()), 5000);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'reset',
                 'the focus returns to the button');
    assert.equal((await seatOf(location, n)).reset_epoch, 0, 'Escape resets nothing');

    await resetButton.click();
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    await page.click('#dash-dialog-confirm');
    await until('the reset message', async () => /Reset of seat/.test(await page.textContent('#dash-status')), 10000);
    const afterReset = await until('the reset seat to be Ready again', async () => {
      const s = await seatOf(location, n);
      return s.reset_epoch === 1 && converged(s) && s;
    });
    assert.ok(afterReset.generation > before.generation, 'the reset is a new desired generation');
    assert.equal(afterReset.occupant.email, EMAIL, 'same occupant after a reset');
    await until('the row to show the reset and Ready', async () =>
      (await row.getAttribute('data-phase')) === 'Ready' &&
      (await row.getAttribute('data-syncing')) === 'false' &&
      /reset 1×/.test(await row.textContent()), 10000);
    // The content is pristine again: the executed cell is gone.
    await until('the progress back to 0 %', async () =>
      /^0 %$/.test((await row.locator('.dash-pct').textContent()).trim()), 30000);
    await h.screenshot(page, 'dashboard-07-after-reset');

    // --- extend by 60 minutes moves the time left ---
    const timeBefore = (await row.locator('.dash-time').textContent()).trim();
    await row.locator('button[data-action=extend]').click();
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dash-minutes');
    await page.fill('#dash-minutes', '60');
    await page.click('#dash-dialog-confirm');
    await until('the extend message', async () => /Extended seat/.test(await page.textContent('#dash-status')), 10000);
    const extended = await seatOf(location, n);
    const moved = Date.parse(extended.registration.deadline) - Date.parse(before.registration.deadline);
    assert.equal(moved, 60 * 60 * 1000, 'the deadline moved by 60 minutes');
    await until('the time left to move', async () => {
      const now = (await row.locator('.dash-time').textContent()).trim();
      const hours = (s) => Number((/^(\d+) h/.exec(s) || [0, 0])[1]);
      return now !== timeBefore && hours(now) === hours(timeBefore) + 1;
    }, 10000);
    await h.screenshot(page, 'dashboard-08-extended');

    // --- the CSV download holds the registration ---
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dash-csv')]);
    assert.match(download.suggestedFilename(), /^registrations-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    const lines = csv.split('\r\n');
    assert.match(lines[0], /^registration_id,workshop,workshop_name,location,seat,state,email,name,company,/);
    const line = lines.find((l) => l.includes(EMAIL));
    assert.ok(line, `the registration is in the CSV:\n${csv}`);
    assert.ok(line.startsWith(`${regId},WKSHP-Web-Shell,`), line);
    assert.ok(line.includes(`,active,${EMAIL},${NAME},"'=SUM(1,2)",`), `neutralised and quoted: ${line}`);
    // Not harvested yet: the live progress of the (reset, pristine) home, 0 of 4 cells.
    assert.match(line, /,0,0,4,live$/);
    await until('the export message', async () => /exported/.test(await page.textContent('#dash-status')), 5000);
    await h.screenshot(page, 'dashboard-09-csv-exported');

    // --- an operator token is read only ---
    await page.click('#dash-logout');
    await page.locator('#dash-login-form').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wod.dashboard.token')), null);
    await page.fill('#dash-token', operatorToken);
    await page.click('#dash-login-form button[type=submit]');
    await locRow.waitFor({ timeout: 10000 });
    assert.match(await page.textContent('#dash-role'), /operator \(read only\)/);
    // The location's actions are shown read only too.
    const opDrain = locRow.locator('button[data-action=drain]');
    assert.equal(await opDrain.getAttribute('aria-disabled'), 'true');
    await opDrain.focus();
    await page.keyboard.press('Enter');
    await until('the not-allowed message for drain', async () =>
      /Not allowed: .*operator token.*To drain location .*admin token/.test(await page.textContent('#dash-alert')), 5000);
    assert.equal(await page.locator('#dash-dialog[open]').count(), 0, 'no confirmation for an operator');
    const deniedPatch = await page.evaluate(async ([url, token]) => {
      const r = await fetch(url, { method: 'PATCH', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
                                   body: JSON.stringify({ state: 'draining' }) });
      return r.status;
    }, [`${wod.baseUrl}/api/v1/locations/${encodeURIComponent(location)}`, operatorToken]);
    assert.equal(deniedPatch, 403);
    await locRow.locator('a.dash-loc-open').click();
    await row.waitFor({ timeout: 10000 });
    const opReset = row.locator('button[data-action=reset]');
    assert.equal(await opReset.getAttribute('aria-disabled'), 'true');
    // aria-disabled keeps it focusable: a keyboard user presses it and is told why not.
    await opReset.focus();
    await page.keyboard.press('Enter');
    await until('the not-allowed message', async () =>
      /Not allowed: .*operator token.*admin token/.test(await page.textContent('#dash-alert')), 5000);
    assert.equal(await page.locator('#dash-dialog[open]').count(), 0, 'no confirmation for an operator');
    // The server refuses it too, whatever a page does.
    const denied = await page.evaluate(async ([url, token]) => {
      const r = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      return r.status;
    }, [`${wod.baseUrl}/api/v1/seats/${encodeURIComponent(location)}/${n}:reset`, operatorToken]);
    assert.equal(denied, 403);
    assert.equal((await seatOf(location, n)).reset_epoch, 1, 'the operator changed nothing');
    await h.screenshot(page, 'dashboard-10-operator-denied');

    // --- drift outside the seats: a foreign user in the managed uid range is reported ---
    const made2 = spawnSync('useradd', ['-u', String(FOREIGN_UID), '-M', '-N', '-d', '/nonexistent',
                                        '-s', '/usr/sbin/nologin', FOREIGN_USER], { encoding: 'utf8' });
    assert.equal(made2.status, 0, made2.stderr);
    await until('the foreign user in the drift box', async () =>
      (await page.isVisible('#dash-foreign')) &&
      (await page.textContent('#dash-foreign')).includes(`user '${FOREIGN_USER}' uid ${FOREIGN_UID}`), 30000);
    assert.match(await page.textContent('#dash-summary [data-count=drift]'), /[1-9]\d*\s*Drift/);
    await h.screenshot(page, 'dashboard-11-foreign-drift');
    removeForeignUser();
    await until('the drift box to clear', async () => !(await page.isVisible('#dash-foreign')), 30000);

    // --- a phone and a projector ---
    await page.fill('#dash-f-text', '');
    await page.setViewportSize({ width: 390, height: 844 });
    await until('the card layout', async () =>
      (await row.evaluate((tr) => getComputedStyle(tr).display)) === 'grid', 5000);
    await h.screenshot(page, 'dashboard-12-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click('#dash-large');
    assert.equal(await page.getAttribute('#dash-large', 'aria-pressed'), 'true');
    assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize), '22px');
    await h.screenshot(page, 'dashboard-13-large-type');

    assert.deepEqual(b.external, [], 'no request left 127.0.0.1');
    // Expected refusals (401 wrong token, 403 operator) are logged by chromium as failed
    // loads; anything else is a fault of the page.
    const faults = b.errors.filter((e) => !/Failed to load resource: the server responded with a status of (401|403|404)/.test(e));
    assert.deepEqual(faults, [], 'the page logged no error');
  } finally {
    removeForeignUser();
    if (b) await b.close();
    await wod.stop();
  }
});
