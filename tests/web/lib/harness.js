// The browser-test harness (docs/web.md): a real `wod up` on a temp SQLite store with real
// Linux accounts, the real JupyterHub of the test services and mail into a maildir, plus
// Debian's chromium driven by playwright-core with every request off 127.0.0.1 blocked and
// recorded. Everything it makes (accounts, homes, the group, hub users, their processes, the
// temp dir) is removed by stop(), and swept again at the next start in case a run was killed.
//
//   const h = require('./lib/harness');
//   h.requireServices();                       // fails (WOD_REQUIRE_SERVICES=1) or skips (77)
//   const wod = await h.startWod({ name: 'portal', userPrefix: 'wodweb', uidBase: 64000 });
//   const b = await h.launchBrowser();          // { browser, context, page(), external, close() }
//   ... wod.baseUrl, wod.adminToken, wod.api(method, path, body, headers) ...
//   await h.screenshot(page, '01-catalog');    // $WOD_SCREENSHOT_DIR/01-catalog.png
//   await b.close(); await wod.stop();
//
// Environment: WOD_BIN (the wod binary; set by ctest), WOD_TEST_HUB_URL and
// WOD_TEST_HUB_TOKEN_FILE (scripts/services/jupyterhub), WOD_CHROMIUM (default
// /usr/bin/chromium), WOD_SCREENSHOT_DIR (default <build>/web-screenshots, i.e. next to the
// binary's folder), WOD_REQUIRE_SERVICES=1 (a missing service fails instead of skipping).
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

// The exit code ctest reads as "skipped" (SKIP_RETURN_CODE in tests/web/tests.cmake).
const SKIP_CODE = 77;
const CHROMIUM = process.env.WOD_CHROMIUM || '/usr/bin/chromium';
// The flags of the environment's docs: headless, no sandbox (root), nothing that phones home.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function log(...args) {
  console.log('[harness]', ...args);
}

// Checks what a browser test needs: root, chromium, the wod binary and (unless hub: false)
// the test hub. A missing piece fails the test under WOD_REQUIRE_SERVICES=1 and skips it
// (exit 77) otherwise, always saying what is missing.
function requireServices({ hub = true } = {}) {
  const missing = [];
  if (process.getuid() !== 0) missing.push('root (accounts are real Linux users)');
  if (!fs.existsSync(CHROMIUM)) missing.push(`chromium at ${CHROMIUM} (scripts/setup installs it)`);
  if (!process.env.WOD_BIN || !fs.existsSync(process.env.WOD_BIN)) {
    missing.push('WOD_BIN (the wod binary; set by ctest)');
  }
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push('playwright-core (npm ci --prefix tests/web)');
  }
  if (hub) {
    for (const v of ['WOD_TEST_HUB_URL', 'WOD_TEST_HUB_TOKEN_FILE']) {
      if (!process.env[v]) missing.push(`${v} (scripts/services/jupyterhub start DIR)`);
    }
  }
  if (missing.length === 0) return;
  const what = `needs ${missing.join(', ')}`;
  if (process.env.WOD_REQUIRE_SERVICES === '1') {
    console.error(`FAIL: ${what} (WOD_REQUIRE_SERVICES=1)`);
    process.exit(1);
  }
  console.log(`SKIP: ${what}`);
  process.exit(SKIP_CODE);
}

function screenshotDir() {
  if (process.env.WOD_SCREENSHOT_DIR) return process.env.WOD_SCREENSHOT_DIR;
  // WOD_BIN is <build>/cli/wod.
  if (process.env.WOD_BIN) return path.join(path.dirname(path.dirname(process.env.WOD_BIN)), 'web-screenshots');
  return path.join(os.tmpdir(), 'wod-web-screenshots');
}

// Saves a full-page PNG as <dir>/<name>.png and returns its path.
async function screenshot(page, name) {
  const dir = screenshotDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log('screenshot', file);
  return file;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Runs `argv` to completion; throws with its stderr when it exits non-zero.
function run(argv, { allowFail = false, env } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: env || process.env, timeout: 60000 });
  if (!allowFail && (r.status !== 0 || r.error)) {
    throw new Error(`${argv.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr || r.error}`);
  }
  return r;
}

// --- cleanup of what a run made on the machine --------------------------------------------

// The accounts of the prefix in the managed uid range, read from /etc/passwd.
function ourAccounts(prefix, uidBase, seatCount) {
  const re = new RegExp(`^${prefix}\\d+$`);
  const out = [];
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !re.test(f[0])) continue;
    const uid = Number(f[2]);
    if (uid >= uidBase && uid < uidBase + seatCount) out.push({ name: f[0], uid, home: f[5] });
  }
  return out;
}

// Pids of processes owned by a uid in [uidBase, uidBase + seatCount): the seats' processes
// (notebook servers the hub spawned, anything a participant started).
function ourProcesses(uidBase, seatCount) {
  const pids = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${e}/status`, 'utf8'));
      const uid = m ? Number(m[1]) : -1;
      if (uid >= uidBase && uid < uidBase + seatCount) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function hubRequest(method, urlPath) {
  const url = process.env.WOD_TEST_HUB_URL;
  const tokenFile = process.env.WOD_TEST_HUB_TOKEN_FILE;
  if (!url || !tokenFile) return null;
  const token = fs.readFileSync(tokenFile, 'utf8').trim();
  const res = await fetch(`${url.replace(/\/$/, '')}/hub/api${urlPath}`, {
    method,
    headers: { Authorization: `token ${token}` },
  });
  const text = await res.text();
  return { status: res.status, text };
}

// Deletes the hub users of the prefix (the hub stops their servers first).
async function sweepHub(prefix) {
  const re = new RegExp(`^${prefix}\\d+$`);
  let list;
  try {
    list = await hubRequest('GET', '/users');
  } catch (e) {
    log(`hub not reachable for the sweep: ${e.message}`);
    return;
  }
  if (!list || list.status !== 200) return;
  for (const u of JSON.parse(list.text)) {
    if (!re.test(u.name)) continue;
    for (let attempt = 0; attempt < 40; attempt++) {
      const r = await hubRequest('DELETE', `/users/${u.name}`);
      if (r.status === 204 || r.status === 404) break;
      await sleep(250);  // 400 while its server is stopping
    }
  }
}

// Removes every trace of the prefix: hub users, processes, accounts, homes, the group.
async function sweep(prefix, uidBase, seatCount) {
  await sweepHub(prefix);
  for (let round = 0; round < 3; round++) {
    const pids = ourProcesses(uidBase, seatCount);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(500);
  }
  for (const a of ourAccounts(prefix, uidBase, seatCount)) {
    // Exit 10: another useradd/userdel holds the passwd lock (parallel tests): retry.
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = run(['userdel', a.name], { allowFail: true });
      if (r.status === 0 || r.status === 6) break;
      await sleep(250);
    }
  }
  const re = new RegExp(`^${prefix}\\d+$`);
  for (const name of fs.readdirSync('/home')) {
    if (re.test(name)) fs.rmSync(path.join('/home', name), { recursive: true, force: true });
  }
  const group = fs
    .readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${prefix}:`) && l.split(':')[2] === String(uidBase));
  if (group) run(['groupdel', prefix], { allowFail: true });
}

// --- wod up -----------------------------------------------------------------------------

const live = new Set();  // started instances, stopped on a signal

// Starts `wod up` with the catalog loaded and an admin token made. Options:
//   name        names the temp dir and log ("portal")
//   userPrefix  Linux/hub user prefix of the seats ("wodweb"); also the group's name
//   uidBase     seat N has uid uidBase + N; uids uidBase .. uidBase+99 are swept
//   catalogDir  default tests/web/catalog
//   api         extra keys of the `api:` section ({ key: value })
//   hub         false: run without the hub section
// Returns { baseUrl, adminToken, dir, storeUrl, maildir, api(), log(), stop() }.
async function startWod(opts) {
  const name = opts.name || 'web';
  const prefix = opts.userPrefix;
  const uidBase = opts.uidBase;
  const seatCount = 100;
  if (!/^[a-z][a-z0-9]{1,12}$/.test(prefix || '') || !Number.isInteger(uidBase)) {
    throw new Error('startWod needs userPrefix ([a-z][a-z0-9]+) and an integer uidBase');
  }
  const bin = process.env.WOD_BIN;
  const catalogDir = opts.catalogDir || path.join(__dirname, '..', 'catalog');
  const useHub = opts.hub !== false && !!process.env.WOD_TEST_HUB_URL;

  await sweep(prefix, uidBase, seatCount);  // what a killed earlier run left
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wod-web-${name}-`));
  fs.chmodSync(dir, 0o755);
  const storeUrl = `sqlite:${path.join(dir, 'wod.db')}`;
  const maildir = path.join(dir, 'mail');
  const logFile = path.join(dir, 'up.log');
  let child = null;
  let stopped = false;

  const instance = {
    dir,
    storeUrl,
    maildir,
    baseUrl: null,
    adminToken: null,
    userPrefix: prefix,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    // A JSON API call: { status, body } (body parsed when JSON).
    async api(method, urlPath, body, headers = {}) {
      const res = await fetch(instance.baseUrl + urlPath, {
        method,
        headers: { 'Content-Type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(instance);
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const exited = await Promise.race([
          new Promise((r) => child.once('exit', () => r(true))),
          sleep(20000).then(() => false),
        ]);
        if (!exited) {
          log('wod up did not stop within 20 s: SIGKILL');
          child.kill('SIGKILL');
          await new Promise((r) => child.once('exit', r));
        }
      }
      // Keep the log next to the screenshots for a look after a failure.
      try {
        fs.mkdirSync(screenshotDir(), { recursive: true });
        fs.copyFileSync(logFile, path.join(screenshotDir(), `${name}-wod-up.log`));
      } catch {
        // no log
      }
      await sweep(prefix, uidBase, seatCount);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(instance);

  try {
    const config = [
      `# browser test '${name}' (tests/web/lib/harness.js)`,
      'accounts:',
      '  root: /',
      `  user_prefix: ${prefix}`,
      `  uid_base: ${uidBase}`,
      `  seat_count: ${seatCount}`,
      `  group: ${prefix}`,
      `  gid: ${uidBase}`,
      '  home_base: /home',
      'content:',
      '  archive_dir: archive',
    ];
    if (useHub) {
      config.push('hub:', `  url: ${process.env.WOD_TEST_HUB_URL}`, `  token_file: ${process.env.WOD_TEST_HUB_TOKEN_FILE}`);
    }
    config.push(
      'controller:',
      '  concurrency: 4',
      '  lease_ttl: 5s',
      '  resync: 2s',
      '  backoff_base: 200ms',
      '  backoff_cap: 2s',
      'variables:',
      '  BRANDING: wod browser tests',
      'api:',
      `  participant_user_prefix: ${prefix}`,
      '  registration_rate_limit:',
      '    per_minute: 600',
      '    burst: 100',
    );
    // The participant page's "Open workshop" button goes to the test hub.
    if (useHub) config.push(`  hub_public_url: ${process.env.WOD_TEST_HUB_URL}`);
    for (const [k, v] of Object.entries(opts.api || {})) config.push(`  ${k}: ${v}`);
    config.push('mail:', '  maildir: mail', '  from_address: wod@wod.test', 'lifecycle:', '  resync: 1s');
    const configFile = path.join(dir, 'up.yml');
    fs.writeFileSync(configFile, config.join('\n') + '\n');

    run([bin, 'catalog', 'load', '--store', storeUrl, catalogDir]);
    instance.adminToken = run([bin, 'token', 'create', '--store', storeUrl, '--role', 'admin', '--name', 'browser-test'])
      .stdout.trim();

    const out = fs.openSync(logFile, 'a');
    let argv = [bin, 'up', '--store', storeUrl, '--config', configFile, '--listen', '127.0.0.1:0', '--location', 'local'];
    // If this process is killed outright (a ctest timeout sends SIGKILL), wod up gets SIGTERM
    // instead of running on as an orphan; the next run's sweep removes what it left.
    if (fs.existsSync('/usr/bin/setpriv')) argv = ['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--', ...argv];
    child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const deadline = Date.now() + 30000;
    while (!instance.baseUrl) {
      const m = /wod up: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(instance.log());
      if (m) instance.baseUrl = m[1];
      else if (child.exitCode !== null) throw new Error(`wod up exited ${child.exitCode}:\n${instance.log()}`);
      else if (Date.now() > deadline) throw new Error(`wod up did not listen within 30 s:\n${instance.log()}`);
      else await sleep(50);
    }
    for (;;) {
      const ok = await fetch(`${instance.baseUrl}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`/readyz not ready within 30 s:\n${instance.log()}`);
      await sleep(100);
    }
    // The warm pool (every seat's locked account and hub user) is built by the first passes:
    // wait for it, so a registration is what the next pass acts on.
    while (!/converged=true/.test(instance.log())) {
      if (child.exitCode !== null) throw new Error(`wod up exited ${child.exitCode}:\n${instance.log()}`);
      if (Date.now() > deadline + 60000) throw new Error(`the warm pool did not converge:\n${instance.log()}`);
      await sleep(100);
    }
    log(`wod up at ${instance.baseUrl} (store ${storeUrl}, users ${prefix}N, uids ${uidBase}+N)`);
    return instance;
  } catch (e) {
    await instance.stop();
    throw e;
  }
}

// --- the browser --------------------------------------------------------------------------

// Launches chromium with a fresh profile. Every request to a host other than 127.0.0.1 is
// aborted and recorded in `external` (a test asserts it stays empty). page() opens a tab
// whose console errors and page errors are recorded in `errors`.
async function launchBrowser({ viewport = { width: 1280, height: 900 } } = {}) {
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport });
  const external = [];
  const errors = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '127.0.0.1') {
      external.push(route.request().url());
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  return {
    browser,
    context,
    external,
    errors,
    async page() {
      const p = await context.newPage();
      p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      return p;
    },
    async close() {
      await browser.close();
    },
  };
}

// Stops every started `wod up` (and sweeps) when the test is interrupted.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    log(`${sig}: stopping`);
    for (const w of [...live]) await w.stop().catch(() => {});
    process.exit(1);
  });
}

module.exports = { requireServices, startWod, launchBrowser, screenshot, screenshotDir, sleep, sweep, SKIP_CODE };
