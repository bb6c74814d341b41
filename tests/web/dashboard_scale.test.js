// The instructor dashboard at twenty backends, in a real browser: a `wod serve` (no controller,
// so no location is live) on a SQLite store of 20 locations × 1,000 seats (20 workshops, each
// on its own location; 300 seats of loc-01 and 20 of each other location occupied through the
// registration API):
//  1. first view: a tab with a saved token opens on the locations overview, its 20 rows in
//     the DOM at most 1 s after navigation start, three times (the dashboard's files not in
//     the cache yet, then two reloads).
//     Measured by the page's own performance marks: wod.overview.rendered when the rows are in
//     the DOM (asserted), wod.overview.painted in the frame after (printed, with where the
//     time went);
//  2. the overview's refresh asks for the locations only, never for seats;
//  3. opening loc-01 loads its 1,000 seats (and only those) and renders every row; the time
//     from the click to the rows in the DOM and to the painted table is printed (the painted
//     time must stay under 3 s, a guard against a regression, not a target);
//  4. the 2 s refresh of that location asks for its seats with the ETag and gets 304 while
//     nothing changed; a registration there changes the list and shows on the next refresh;
//  5. the overview's workshop chooser opens one workshop's seats (?workshop=);
//  6. an admin drains loc-02 from its row (confirmation dialog; Escape cancels), the API says
//     draining, then activates it again;
//  7. the full seat list (GET /api/v1/seats without a location or workshop) is never asked.
// Needs chromium, playwright-core and the wod binary; not root, not the hub (nothing is
// provisioned). Screenshots: $WOD_SCREENSHOT_DIR/dashboard-scale-NN-*.png (docs/dashboard.md).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { test } = require('node:test');
const h = require('./lib/harness');

const LOCATIONS = 20;
const SEATS = 1000;
const OCCUPIED_FIRST = 300;  // on loc-01, the location the test opens (30 %, as at 2,000 seats)
const OCCUPIED_OTHERS = 20;
const FIRST_VIEW_MS = 1000;  // the target
const LOCATION_VIEW_MS = 3000;  // a regression guard for 1,000 rows; the number is printed

// This test provisions nothing: it needs the browser and the binary, not root or the hub.
function requireBrowser() {
  const missing = [];
  if (!fs.existsSync(process.env.WOD_CHROMIUM || '/usr/bin/chromium')) missing.push('chromium');
  if (!process.env.WOD_BIN || !fs.existsSync(process.env.WOD_BIN)) missing.push('WOD_BIN (the wod binary; set by ctest)');
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push('playwright-core (npm ci --prefix tests/web)');
  }
  if (missing.length === 0) return;
  if (process.env.WOD_REQUIRE_SERVICES === '1') {
    console.error(`FAIL: needs ${missing.join(', ')} (WOD_REQUIRE_SERVICES=1)`);
    process.exit(1);
  }
  console.log(`SKIP: needs ${missing.join(', ')}`);
  process.exit(h.SKIP_CODE);
}

requireBrowser();

const loc = (i) => `loc-${String(i).padStart(2, '0')}`;

function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`${argv.slice(1, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// A catalog of LOCATIONS workshops, WKSHP-Scale-NN on location loc-NN, seats 1..SEATS each.
function writeCatalog(dir) {
  fs.mkdirSync(dir);
  for (let i = 1; i <= LOCATIONS; i++) {
    const n = String(i).padStart(2, '0');
    fs.writeFileSync(path.join(dir, `WKSHP-Scale-${n}.yml`), [
      `name: 'Scale ${n}'`,
      `description: 'Workshop ${n} of the dashboard scale test: ${SEATS} seats on its own location.'`,
      'active: true',
      `capacity: ${SEATS}`,
      `range: [1,${SEATS}]`,
      `location: ${loc(i)}`,
      'duration: 2',
      'badgeImg: WOD-Badge-Scale',
      '',
    ].join('\n'));
  }
}

async function startServe(dir, storeUrl) {
  const config = path.join(dir, 'serve.yml');
  fs.writeFileSync(config, 'api:\n  registration_rate_limit:\n    per_minute: 0\n');
  const logFile = path.join(dir, 'serve.log');
  const out = fs.openSync(logFile, 'a');
  let argv = [process.env.WOD_BIN, 'serve', '--store', storeUrl, '--config', config,
              '--listen', '127.0.0.1:0', '--no-lifecycle'];
  if (fs.existsSync('/usr/bin/setpriv')) argv = ['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--', ...argv];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const readLog = () => fs.readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 30000;
  for (;;) {
    const m = /wod serve: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(readLog());
    if (m) return { child, baseUrl: m[1], log: readLog };
    if (child.exitCode !== null) throw new Error(`wod serve exited ${child.exitCode}:\n${readLog()}`);
    if (Date.now() > deadline) throw new Error(`wod serve did not listen within 30 s:\n${readLog()}`);
    await h.sleep(50);
  }
}

async function stopServe(serve) {
  if (!serve || serve.child.exitCode !== null || serve.child.signalCode !== null) return;
  serve.child.kill('SIGTERM');
  const exited = await Promise.race([
    new Promise((r) => serve.child.once('exit', () => r(true))),
    h.sleep(10000).then(() => false),
  ]);
  if (!exited) serve.child.kill('SIGKILL');
}

// Registers `count` participants (emails <tag>N-I@…) for workshop `n` through the API, 8 at a
// time.
async function occupy(baseUrl, n, count, tag = 'p') {
  const workshop = `WKSHP-Scale-${String(n).padStart(2, '0')}`;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await fetch(`${baseUrl}/api/v1/registrations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ workshop, email: `${tag}${n}-${i}@scale.example.com`,
                               name: `Participant ${n}-${i}`, company: 'Scale Test', accept_terms: true }),
      });
      if (res.status !== 201) throw new Error(`registration ${n}/${i}: ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

// The startTime of the newest performance mark `name` (ms from navigation start), once there.
async function markTime(page, name, timeout = 15000) {
  await page.waitForFunction((n) => performance.getEntriesByName(n).length > 0, name, { timeout });
  return page.evaluate((n) => {
    const all = performance.getEntriesByName(n);
    return all[all.length - 1].startTime;
  }, name);
}

test('the dashboard opens on 20 locations × 1,000 seats within 1 s and loads one location on demand',
     { timeout: 240000 }, async () => {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wod-web-scale-'));
  const storeUrl = `sqlite:${path.join(dir, 'wod.db')}`;
  let serve = null;
  let b = null;
  try {
    writeCatalog(path.join(dir, 'catalog'));
    run([process.env.WOD_BIN, 'catalog', 'load', '--store', storeUrl, path.join(dir, 'catalog')]);
    const token = run([process.env.WOD_BIN, 'token', 'create', '--store', storeUrl, '--role', 'admin',
                       '--name', 'scale']).trim();
    serve = await startServe(dir, storeUrl);
    const base = serve.baseUrl;
    await occupy(base, 1, OCCUPIED_FIRST);
    for (let i = 2; i <= LOCATIONS; i++) await occupy(base, i, OCCUPIED_OTHERS);
    const auth = { Authorization: `Bearer ${token}` };
    const locations = (await (await fetch(`${base}/api/v1/locations`, { headers: auth })).json()).locations;
    assert.equal(locations.length, LOCATIONS);
    assert.equal(locations.reduce((n, l) => n + l.seats.total, 0), LOCATIONS * SEATS);
    console.log(`# store ready: ${LOCATIONS} locations × ${SEATS} seats, ` +
                `${OCCUPIED_FIRST + (LOCATIONS - 1) * OCCUPIED_OTHERS} occupied, ${Date.now() - started} ms`);

    b = await h.launchBrowser();
    // A tab that already holds the token (sessionStorage, as after a sign-in): the first view
    // is the page's load, its sign-in check and the overview.
    await b.context.addInitScript((t) => sessionStorage.setItem('wod.dashboard.token', t), token);
    const page = await b.page();
    const requests = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) requests.push({ path: u.pathname, query: u.search, at: Date.now() });
    });
    const responses = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/seats') responses.push({ status: r.status(), query: u.search });
    });

    // --- 1. first view: the overview within 1 s ---
    const firstViews = [];
    const painted = [];
    // The browser is running already, as an instructor's is: a first page of the server (no
    // asset of the dashboard) starts its renderer and connection, then the dashboard loads
    // with an empty cache.
    await page.goto(`${base}/healthz`);
    for (let round = 0; round < 3; round++) {
      if (round === 0) await page.goto(`${base}/dashboard`);
      else await page.reload();
      const ms = await markTime(page, 'wod.overview.rendered');
      painted.push(Math.round(await markTime(page, 'wod.overview.painted')));
      assert.equal(await page.locator('#dash-loc-rows tr.dash-loc-row').count(), LOCATIONS);
      firstViews.push(Math.round(ms));
      // Where the time went (ms from navigation start): the page, its script, the API answers.
      const parts = await page.evaluate(() => {
        // [request start, response end] of each file and API answer, and when the script ran.
        const at = (e) => [Math.round(e.startTime), Math.round(e.responseEnd)];
        const out = { html: at(performance.getEntriesByType('navigation')[0]) };
        for (const e of performance.getEntriesByType('resource')) {
          const name = new URL(e.name).pathname.replace(/^\/(api\/v1|assets)\//, '');
          if (!(name in out)) out[name] = at(e);
        }
        const script = performance.getEntriesByName('wod.script.start')[0];
        out.script_start = script ? Math.round(script.startTime) : null;
        out.dom_content_loaded = Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
        return out;
      });
      console.log(`# first view ${round === 0 ? 'cold' : 'reload'}: rows in the DOM at ${Math.round(ms)} ms, ` +
                  `painted at ${painted[round]} ms; ${JSON.stringify(parts)}`);
    }
    console.log(JSON.stringify({ metric: 'dashboard_first_view_ms', locations: LOCATIONS,
                                 seats: LOCATIONS * SEATS, cold: firstViews[0], reloads: firstViews.slice(1),
                                 painted, load_average: Number(os.loadavg()[0].toFixed(2)) }));
    for (const ms of firstViews) {
      assert.ok(ms <= FIRST_VIEW_MS, `first view: the rows in the DOM at ${ms} ms > ${FIRST_VIEW_MS} ms`);
    }
    const row1 = page.locator(`tr[data-location="${loc(1)}"]`);
    assert.match(await row1.textContent(), /Active/);
    assert.match(await row1.textContent(), /no pass yet/, 'no controller ran: not live, no pass');
    assert.equal((await row1.locator('.dash-lcol-occupied').textContent()).trim(), String(OCCUPIED_FIRST));
    assert.equal((await row1.locator('.dash-lcol-free').textContent()).trim(), String(SEATS - OCCUPIED_FIRST));
    assert.match(await page.textContent('#dash-loc-summary [data-count=seats]'), /20000/);
    await h.screenshot(page, 'dashboard-scale-01-overview');

    // --- 2. the overview refreshes the locations only ---
    let mark = requests.length;
    await h.sleep(4500);
    const overviewPolls = requests.slice(mark);
    assert.ok(overviewPolls.filter((r) => r.path === '/api/v1/locations').length >= 2,
              `the overview refreshed: ${JSON.stringify(overviewPolls)}`);
    assert.deepEqual(overviewPolls.filter((r) => r.path !== '/api/v1/locations'), [],
                     'the overview asks for nothing but the locations');

    // --- 3. one location's seats, on demand ---
    mark = requests.length;
    await row1.locator('a.dash-loc-open').click();
    const requested = await markTime(page, 'wod.seats.requested');
    const inDom = await markTime(page, 'wod.seats.rendered', 30000);
    const openMs = Math.round((await markTime(page, 'wod.seats.painted', 30000)) - requested);
    assert.equal(await page.locator('tr.dash-row').count(), SEATS, 'every seat of loc-01 rendered');
    assert.equal(await page.locator('tr.dash-row[data-occupied=true]').count(), OCCUPIED_FIRST);
    assert.match(await page.textContent('#dash-seats-title'), /Seats of location loc-01/);
    assert.equal(new URL(page.url()).hash, '#location=loc-01');
    console.log(JSON.stringify({ metric: 'dashboard_location_view_ms', seats: SEATS, occupied: OCCUPIED_FIRST,
                                 in_dom: Math.round(inDom - requested), painted: openMs }));
    assert.ok(openMs <= LOCATION_VIEW_MS, `opening a location of ${SEATS} seats took ${openMs} ms`);
    // The viewport only: the full page of 1,000 rows is 70,000 px tall.
    fs.mkdirSync(h.screenshotDir(), { recursive: true });
    await page.screenshot({ path: path.join(h.screenshotDir(), 'dashboard-scale-02-location.png') });

    // --- 4. its refresh: the location's seats with the ETag, 304 while unchanged ---
    const seatResponses = responses.length;
    await h.sleep(4500);
    const polls = responses.slice(seatResponses);
    assert.ok(polls.length >= 2, `the seats refreshed: ${JSON.stringify(polls)}`);
    assert.ok(polls.every((r) => r.query === '?location=loc-01'), JSON.stringify(polls));
    assert.ok(polls.every((r) => r.status === 304), `unchanged seats answer 304: ${JSON.stringify(polls)}`);
    assert.deepEqual(requests.slice(mark).filter((r) => r.path === '/api/v1/locations'), [],
                     'the seat view does not refresh the overview');
    await occupy(base, 1, 1, 'late');
    const newcomer = page.locator('tr.dash-row[data-occupied=true]');
    await page.waitForFunction((n) => document.querySelectorAll('tr.dash-row[data-occupied=true]').length === n,
                               OCCUPIED_FIRST + 1, { timeout: 10000 }).catch(async () => {
      throw new Error(`the new occupant did not show: ${await newcomer.count()} occupied rows`);
    });
    assert.ok(responses.slice(seatResponses).some((r) => r.status === 200), 'a changed list is a 200');

    // --- 5. one workshop's seats, chosen on the overview ---
    await page.click('#dash-back');
    await page.locator(`tr[data-location="${loc(2)}"]`).waitFor();
    assert.equal(new URL(page.url()).hash, '');
    await page.waitForFunction(() => document.querySelectorAll('#dash-ws option').length > 1);
    mark = requests.length;
    await page.selectOption('#dash-ws', 'WKSHP-Scale-02');
    await page.click('#dash-ws-form button[type=submit]');
    await page.waitForFunction((n) => document.querySelectorAll('tr.dash-row').length === n, SEATS, { timeout: 30000 });
    assert.match(await page.textContent('#dash-seats-title'), /Seats of workshop WKSHP-Scale-02/);
    assert.equal(await page.locator('tr.dash-row[data-occupied=true]').count(), OCCUPIED_OTHERS);
    assert.ok(requests.slice(mark).some((r) => r.path === '/api/v1/seats' && r.query === '?workshop=WKSHP-Scale-02'),
              JSON.stringify(requests.slice(mark)));
    await page.goBack();

    // --- 6. drain and activate a location from the overview ---
    await page.locator(`tr[data-location="${loc(2)}"]`).waitFor({ state: 'visible' });
    const row2 = page.locator(`tr[data-location="${loc(2)}"]`);
    const drain = row2.locator('button[data-action=drain]');
    await drain.click();
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    assert.match(await page.textContent('#dash-dialog'), /Drain location loc-02\?/);
    assert.match(await page.textContent('#dash-dialog'), /20 seats in use keep running/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dash-dialog-cancel');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('#dash-dialog[open]'));
    const stateOf = async (name) => {
      const list = (await (await fetch(`${base}/api/v1/locations`, { headers: auth })).json()).locations;
      return list.find((l) => l.name === name).state;
    };
    assert.equal(await stateOf(loc(2)), 'active', 'Escape drains nothing');
    await drain.click();
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    await page.click('#dash-dialog-confirm');
    await page.waitForFunction((n) => document.querySelector(`tr[data-location="${n}"]`).dataset.state === 'draining',
                               loc(2), { timeout: 10000 });
    assert.equal(await stateOf(loc(2)), 'draining');
    assert.match(await page.textContent('#dash-status'), /Location loc-02 is now draining/);
    assert.match(await row2.textContent(), /Draining/);
    assert.equal(await row2.locator('button[data-action=activate]').isVisible(), true);
    assert.equal(await drain.isVisible(), false);
    await h.screenshot(page, 'dashboard-scale-03-draining');
    await row2.locator('button[data-action=activate]').click();
    await page.locator('#dash-dialog[open]').waitFor({ timeout: 5000 });
    await page.click('#dash-dialog-confirm');
    await page.waitForFunction((n) => document.querySelector(`tr[data-location="${n}"]`).dataset.state === 'active',
                               loc(2), { timeout: 10000 });
    assert.equal(await stateOf(loc(2)), 'active');

    // --- 7. never the whole seat list ---
    const full = requests.filter((r) => r.path === '/api/v1/seats' && !/[?&](location|workshop)=/.test(r.query));
    assert.deepEqual(full, [], 'the dashboard never asks for every seat');
    assert.deepEqual(b.external, [], 'no request left 127.0.0.1');
    // chromium logs the page's /favicon.ico (there is none) as a failed 404 load.
    assert.deepEqual(b.errors.filter((e) => !/status of 404/.test(e)), [], 'the page logged no error');
    console.log(`# done in ${Date.now() - started} ms`);
  } finally {
    if (b) await b.close();
    await stopServe(serve);
    if (serve) {
      try {
        fs.mkdirSync(h.screenshotDir(), { recursive: true });
        fs.writeFileSync(path.join(h.screenshotDir(), 'dashboard-scale-serve.log'), serve.log());
      } catch {
        // no log
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
