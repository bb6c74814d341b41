// The instructor dashboard (/dashboard). It opens on the locations overview: one row per
// location (backend) with its state, controller lease, last pass and seats, and, for admins,
// drain / activate / disable with a confirmation. A location's seats (or one workshop's, on all
// its locations) are loaded only when it is opened (#location=NAME, #workshop=ID): each seat
// with its phase, occupant, time left, progress, conditions and drift; reset, clean up and
// extend with a confirmation; CSV export of registrations. The 2 s refresh asks only for what
// is on screen, and the seat list is asked with its ETag, so a refresh that changed nothing
// is a 304 without a body. Everything goes through the JSON API with the token in an
// Authorization header; the token lives in sessionStorage (this tab only). No framework and
// no build step; no inline script or style (the page's CSP forbids both). docs/dashboard.md.
'use strict';

(function () {
  try {
    performance.mark('wod.script.start');  // for the browser tests' timing breakdown
  } catch (e) { /* no marks */ }
  const POLL_MS = 2000;
  // Move events are read again at most this often (and only when the seats changed).
  const EVENTS_MS = 10000;
  const EVENTS_LIMIT = 200;
  const MOVE_SHOWN_MS = 2 * 3600 * 1000;
  const TOKEN_KEY = 'wod.dashboard.token';
  const FILTER_KEY = 'wod.dashboard.filters';
  const LARGE_KEY = 'wod.dashboard.large';
  const PHASES = ['Failed', 'Unobserved', 'Provisioning', 'Vacating', 'Ready', 'Vacant'];
  const CONDITION_NAMES = {
    AccountReady: 'Account',
    HubReady: 'Hub',
    ContentReady: 'Content',
    AppliancesReady: 'Appliances',
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    login: $('dash-login'),
    loginForm: $('dash-login-form'),
    token: $('dash-token'),
    loginError: $('dash-login-error'),
    board: $('dash-board'),
    role: $('dash-role'),
    large: $('dash-large'),
    csv: $('dash-csv'),
    logout: $('dash-logout'),
    alert: $('dash-alert'),
    status: $('dash-status'),
    overview: $('dash-overview'),
    viewTitle: $('dash-view-title'),
    locSummary: $('dash-loc-summary'),
    locRows: $('dash-loc-rows'),
    locEmpty: $('dash-loc-empty'),
    wsForm: $('dash-ws-form'),
    ws: $('dash-ws'),
    seatsView: $('dash-seats'),
    seatsTitle: $('dash-seats-title'),
    back: $('dash-back'),
    loading: $('dash-loading'),
    summary: $('dash-summary'),
    fLocation: $('dash-f-location'),
    fWorkshop: $('dash-f-workshop'),
    fPhase: $('dash-f-phase'),
    fText: $('dash-f-text'),
    fSort: $('dash-f-sort'),
    fDir: $('dash-f-dir'),
    updated: $('dash-updated'),
    live: $('dash-live'),
    groups: $('dash-groups'),
    empty: $('dash-empty'),
    foreign: $('dash-foreign'),
    foreignList: $('dash-foreign-list'),
    dialog: $('dash-dialog'),
    dialogForm: $('dash-dialog-form'),
    dialogTitle: $('dash-dialog-title'),
    dialogText: $('dash-dialog-text'),
    dialogMinutesBox: $('dash-dialog-minutes'),
    dialogMinutes: $('dash-minutes'),
    dialogConfirm: $('dash-dialog-confirm'),
  };

  const state = {
    token: null,
    role: null, // 'admin', 'operator', or null when the server cannot say
    // What is on screen: {kind: 'overview'}, {kind: 'location', name} or {kind: 'workshop', id}.
    view: {kind: 'overview'},
    locations: [],
    locRows: new Map(), // location name -> {tr, cells, buttons, sigs}
    workshopsLoaded: false,
    seats: null, // null until the open view's seats arrived
    seatsAt: 0, // Date.now() when `seats` was answered (time_left_seconds counts from then)
    seatsEtag: null,
    drift: new Map(), // "location/seat" -> [entries]
    moves: new Map(), // "location/seat" -> the newest lifecycle.move event of the seat
    movesAt: 0, // Date.now() of the last read of the events
    movesDue: false, // the seats changed since

    phases: new Map(), // "location/seat" -> last phase seen (for announcements)
    groups: new Map(), // group key -> {section, heading, tbody, headers, rows: Map}
    timer: null,
    generation: 0, // bumped at logout and at each change of view: older polls are dropped
    overviewMarked: false,
    prefetch: null, // {path, promise}: asked at start beside whoami (one round trip less)
    filters: {location: '', workshop: '', phase: '', text: '', sort: 'seat', dir: 'asc'},
  };

  // --- API ---

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // options: method, body, raw (answer the Response), etag (sent as If-None-Match: a 304
  // answers {notModified: true}; a 200 answers the body with its ETag in `_etag`).
  async function api(path, options = {}) {
    const headers = {Authorization: 'Bearer ' + state.token};
    const init = {method: options.method || 'GET', headers, cache: 'no-store'};
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (options.etag) headers['If-None-Match'] = options.etag;
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'the server cannot be reached');
    }
    if (res.status === 304) return {notModified: true};
    if (options.raw && res.ok) return res;
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      const err = (body && body.error) || {};
      throw new ApiError(res.status, err.code || 'http_' + res.status,
                         err.message || 'HTTP ' + res.status);
    }
    if (body && options.etag !== undefined) body._etag = res.headers.get('ETag');
    return body;
  }

  function seatPath(seat, verb) {
    return '/api/v1/seats/' + encodeURIComponent(seat.location) + '/' + seat.seat + ':' + verb;
  }

  // Marks for the browser tests (performance.getEntriesByName): NAME.rendered now (the rows
  // are in the DOM), NAME.painted once the frame that shows them has been laid out.
  function markRendered(name, detail) {
    try {
      performance.mark(name + '.rendered', {detail});
    } catch (e) {
      return;  // an old browser: no marks
    }
    window.requestAnimationFrame(() => window.setTimeout(() => {
      performance.mark(name + '.painted', {detail});
    }, 0));
  }

  // --- formatting ---

  function keyOf(seat) {
    return seat.location + '/' + seat.seat;
  }

  // From the server's time_left_seconds (no clock skew), counted down since it was answered:
  // a 304 refresh keeps the copy, whose numbers are older than the refresh.
  function timeLeftSeconds(seat) {
    if (typeof seat.time_left_seconds === 'number') {
      const passed = Math.max(0, Math.floor((Date.now() - state.seatsAt) / 1000));
      return Math.max(0, seat.time_left_seconds - passed);
    }
    const reg = seat.registration;
    if (!reg || reg.state !== 'active' || !reg.deadline) return null;
    return Math.max(0, Math.floor((Date.parse(reg.deadline) - Date.now()) / 1000));
  }

  function formatDuration(seconds) {
    if (seconds === null) return '—';
    if (seconds <= 0) return 'ended';
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    if (h > 0) return h + ' h ' + String(m).padStart(2, '0') + ' min';
    if (m > 0) return m + ' min';
    return seconds + ' s';
  }

  // Progress in percent (0-100) from whatever form the API gives: a number, {percent},
  // {fraction}, or a report {"total": {"fraction"}}; null when there is none.
  function progressPercent(seat) {
    let p = seat.progress;
    if (p === undefined || p === null) p = seat.registration && seat.registration.progress;
    if (p === undefined || p === null) return null;
    if (typeof p === 'number') return clampPercent(p <= 1 ? p * 100 : p);
    if (typeof p.percent === 'number') return clampPercent(p.percent);
    if (typeof p.fraction === 'number') return clampPercent(p.fraction * 100);
    if (p.total && typeof p.total.fraction === 'number') return clampPercent(p.total.fraction * 100);
    return null;
  }

  function clampPercent(x) {
    return Math.max(0, Math.min(100, Math.floor(x + 1e-9)));
  }

  function formatClock(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    return new Date(t).toLocaleString();
  }

  function formatAgo(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '—';
    const s = Math.max(0, Math.floor((Date.now() - t) / 1000));
    if (s < 60) return 'just now';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return new Date(t).toLocaleDateString();
  }

  function lastActivity(seat) {
    if (seat.last_activity) return seat.last_activity;
    return null;
  }

  // A grey placeholder for setCell ("—", "vacant").
  class Muted {
    constructor(text) {
      this.text = text;
    }
  }
  const muted = (text) => new Muted(text);

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- messages ---

  function setAlert(text) {
    el.alert.textContent = text || '';
  }

  function setStatus(text) {
    el.status.textContent = text || '';
  }

  function announce(text) {
    // Cleared first so the same text is announced again.
    el.live.textContent = '';
    if (text) window.setTimeout(() => { el.live.textContent = text; }, 50);
  }

  function describeError(e, what) {
    if (e.status === 0) return 'Cannot ' + what + ': the server cannot be reached. Retrying.';
    if (e.status === 401) return 'Your token is no longer accepted (unknown or revoked). Sign in again.';
    if (e.status === 403) {
      return 'Not allowed: ' + what + ' needs an admin token; you are signed in with an operator token.';
    }
    return 'Cannot ' + what + ': ' + e.message + ' (' + e.code + ').';
  }

  function readOnlyNote() {
    return state.role === 'operator'
        ? 'Read only: drain, activate and disable a location, and reset, clean up and extend a ' +
          'seat, need an admin token.'
        : '';
  }

  // --- login ---

  async function signIn(token) {
    state.token = token;
    let role = null;
    try {
      const who = await api('/api/v1/whoami');
      role = who.role;
    } catch (e) {
      if (e.status !== 404) throw e;
      // A server without whoami: the token is checked on a small list; the role shows at the
      // first 403.
      await api('/api/v1/locations');
    }
    state.role = role;
    sessionStorage.setItem(TOKEN_KEY, token);
    showBoard();
  }

  function showBoard() {
    el.login.hidden = true;
    el.board.hidden = false;
    el.logout.hidden = false;
    el.csv.hidden = false;
    el.role.hidden = !state.role;
    el.role.textContent = state.role === 'admin' ? 'Signed in: admin'
                        : state.role === 'operator' ? 'Signed in: operator (read only)' : '';
    setAlert('');
    setStatus(readOnlyNote());
    openView(viewFromHash(), {focus: false});
  }

  function logout(message) {
    state.generation++;
    window.clearTimeout(state.timer);
    state.token = null;
    state.role = null;
    clearSeats();
    clearLocations();
    sessionStorage.removeItem(TOKEN_KEY);
    // The next sign-in (perhaps another role) opens on the overview.
    if (window.location.hash) history.replaceState(null, '', window.location.pathname);
    state.view = {kind: 'overview'};
    el.board.hidden = true;
    el.logout.hidden = true;
    el.csv.hidden = true;
    el.role.hidden = true;
    el.login.hidden = false;
    el.token.value = '';
    el.loginError.textContent = message || '';
    el.token.focus();
  }

  el.loginForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = el.token.value.trim();
    el.loginError.textContent = '';
    if (!token) {
      el.loginError.textContent = 'Enter a token.';
      el.token.setAttribute('aria-invalid', 'true');
      el.token.focus();
      return;
    }
    try {
      await signIn(token);
      el.token.removeAttribute('aria-invalid');
      el.token.value = '';
      $('dash-main').focus();
    } catch (e) {
      state.token = null;
      el.token.setAttribute('aria-invalid', 'true');
      el.loginError.textContent = e.status === 401
          ? 'This token was not accepted: it is unknown or revoked. Check it and try again.'
          : describeError(e, 'sign in');
      el.token.focus();
    }
  });

  el.logout.addEventListener('click', () => logout('Signed out.'));

  // --- views: the overview, or one location's or workshop's seats (in the URL's hash) ---

  function viewFromHash() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    const location = params.get('location');
    if (location) return {kind: 'location', name: location};
    const workshop = params.get('workshop');
    if (workshop) return {kind: 'workshop', id: workshop};
    return {kind: 'overview'};
  }

  function hashOf(view) {
    if (view.kind === 'location') return '#location=' + encodeURIComponent(view.name);
    if (view.kind === 'workshop') return '#workshop=' + encodeURIComponent(view.id);
    return '';
  }

  function sameView(a, b) {
    return a.kind === b.kind && a.name === b.name && a.id === b.id;
  }

  // Shows `view` and loads what it needs; the previous view's polls are dropped.
  function openView(view, {focus = true} = {}) {
    const changed = !sameView(view, state.view);
    state.view = view;
    const overview = view.kind === 'overview';
    el.overview.hidden = !overview;
    el.seatsView.hidden = overview;
    if (changed || overview) clearSeats();
    // A message about what was on screen before does not belong to the new view.
    if (changed) setAlert('');
    if (overview) {
      document.title = 'Locations · Instructor dashboard · wod';
    } else {
      const what = view.kind === 'location' ? 'location ' + view.name : 'workshop ' + view.id;
      el.seatsTitle.textContent = 'Seats of ' + what;
      document.title = 'Seats of ' + what + ' · Instructor dashboard · wod';
      el.loading.hidden = false;
      // The location and workshop filters belong to the view that set them.
      if (state.filters.location || state.filters.workshop) {
        state.filters.location = '';
        state.filters.workshop = '';
        saveFilters();
      }
      try {
        performance.mark('wod.seats.requested', {detail: hashOf(view)});
      } catch (e) { /* no marks */ }
    }
    el.updated.textContent = '';
    if (focus) (overview ? el.viewTitle : el.seatsTitle).focus({preventScroll: false});
    state.generation++;
    poll(state.generation);
  }

  // Links (#location=…) change the hash; the browser's back and forward buttons too.
  function onHistory() {
    if (!state.token) return;
    const view = viewFromHash();
    if (!sameView(view, state.view)) openView(view);
  }
  window.addEventListener('hashchange', onHistory);
  window.addEventListener('popstate', onHistory);

  function go(view) {
    const hash = hashOf(view);
    if (hash) {
      window.location.hash = hash;  // hashchange opens it
    } else {
      history.pushState(null, '', window.location.pathname);
      openView(view);
    }
  }

  el.back.addEventListener('click', (ev) => {
    ev.preventDefault();
    go({kind: 'overview'});
  });

  el.wsForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!el.ws.value) {
      el.ws.focus();
      return;
    }
    go({kind: 'workshop', id: el.ws.value});
  });

  function clearSeats() {
    state.seats = null;
    state.seatsEtag = null;
    state.seatsAt = 0;
    state.drift = new Map();
    state.moves = new Map();
    state.movesAt = 0;
    state.movesDue = false;
    state.phases.clear();
    for (const g of state.groups.values()) g.section.remove();
    state.groups.clear();
    el.summary.replaceChildren();
    delete el.summary.dataset.sig;
    el.foreign.hidden = true;
    delete el.foreign.dataset.sig;
    el.empty.hidden = true;
  }

  function clearLocations() {
    state.locations = [];
    for (const r of state.locRows.values()) r.tr.remove();
    state.locRows.clear();
    el.locSummary.replaceChildren();
    delete el.locSummary.dataset.sig;
    state.workshopsLoaded = false;
  }

  // --- polling: only what is on screen ---

  async function poll(generation) {
    window.clearTimeout(state.timer);
    if (generation !== state.generation || !state.token) return;
    const overview = state.view.kind === 'overview';
    try {
      if (overview) {
        await pollOverview(generation);
      } else {
        await pollSeats(generation);
      }
      if (generation !== state.generation) return;
      if (el.alert.dataset.source === 'poll') {
        setAlert('');
        delete el.alert.dataset.source;
      }
      el.updated.textContent = 'Updated ' + new Date().toLocaleTimeString() +
                               ' · refreshes every 2 seconds';
    } catch (e) {
      if (generation !== state.generation) return;
      if (e.status === 401) {
        logout('Your token is no longer accepted (unknown or revoked). Sign in again.');
        return;
      }
      setAlert(describeError(e, overview ? 'refresh the locations' : 'refresh the seats'));
      el.alert.dataset.source = 'poll';
    }
    state.timer = window.setTimeout(() => poll(generation), POLL_MS);
  }

  function refreshNow() {
    poll(state.generation);
  }

  // The answer to `path` asked at start, when there is one (used once).
  function prefetched(path) {
    const p = state.prefetch;
    state.prefetch = null;
    return p && p.path === path ? p.promise : null;
  }

  async function pollOverview(generation) {
    if (!state.workshopsLoaded) {
      // The workshop chooser's list: once per overview (it changes with the catalog only), and
      // not waited for: the locations show first.
      state.workshopsLoaded = true;
      api('/api/v1/workshops').then((w) => {
        if (generation === state.generation) syncWorkshopChoices(w.workshops || []);
      }, () => { state.workshopsLoaded = false; });
    }
    const locations = await (prefetched('/api/v1/locations') || api('/api/v1/locations'));
    if (generation !== state.generation) return;
    state.locations = locations.locations || [];
    renderOverview();
    if (!state.overviewMarked) {
      state.overviewMarked = true;
      markRendered('wod.overview', {locations: state.locations.length});
    }
  }

  function seatsQuery(view) {
    return view.kind === 'location' ? 'location=' + encodeURIComponent(view.name)
                                    : 'workshop=' + encodeURIComponent(view.id);
  }

  async function pollSeats(generation) {
    const view = state.view;
    const driftPath = view.kind === 'location'
        ? '/api/v1/drift?location=' + encodeURIComponent(view.name) : '/api/v1/drift';
    const [seats, drift] = await Promise.all([
      // Asked with the ETag of the copy on screen: unchanged seats are a 304 with no body.
      api('/api/v1/seats?' + seatsQuery(view), {etag: state.seatsEtag || ''}),
      api(driftPath).catch((e) => (e.status === 401 ? Promise.reject(e) : null)),
    ]);
    if (generation !== state.generation) return;
    const first = state.seats === null;
    if (!seats.notModified) {
      state.seats = seats.seats || [];
      state.seatsAt = Date.now();
      state.seatsEtag = seats._etag || null;
    }
    const where = new Set(state.seats.map((s) => s.location));
    if (view.kind === 'location') where.add(view.name);
    if (drift) {
      state.drift = new Map();
      for (const d of drift.drift || []) {
        if (!where.has(d.location)) continue;
        const k = d.location + '/' + d.seat;
        if (!state.drift.has(k)) state.drift.set(k, []);
        state.drift.get(k).push(d);
      }
    }
    el.loading.hidden = true;
    render();
    if (first) markRendered('wod.seats', {view: hashOf(view), seats: state.seats.length});
    // Failovers: the newest move of each seat, from its location's recent events; read after
    // the seats changed (a move always changes them), at most every EVENTS_MS.
    if (!seats.notModified) state.movesDue = true;
    if (state.movesDue && Date.now() - state.movesAt >= EVENTS_MS) {
      state.movesDue = false;
      state.movesAt = Date.now();
      loadMoves(generation, Array.from(where));
    }
  }

  async function loadMoves(generation, locations) {
    const moves = new Map();
    try {
      const lists = await Promise.all(locations.map((l) =>
          api('/api/v1/events?limit=' + EVENTS_LIMIT + '&location=' + encodeURIComponent(l))));
      for (const list of lists) {
        for (const e of list.events || []) {
          if (e.kind !== 'lifecycle.move' || e.seat === null) continue;
          const k = e.location + '/' + e.seat;
          if (!moves.has(k)) moves.set(k, e);  // newest first
        }
      }
    } catch (e) {
      return;  // the seats still show; the next change tries again
    }
    if (generation !== state.generation) return;
    state.moves = moves;
    render();
  }

  // --- the locations overview ---

  const STATE_WORDS = {active: 'Active', draining: 'Draining', disabled: 'Disabled'};

  function syncWorkshopChoices(workshops) {
    const current = el.ws.value;
    while (el.ws.options.length > 1) el.ws.remove(1);
    const sorted = workshops.slice().sort((a, b) => String(a.id).localeCompare(String(b.id)));
    for (const w of sorted) {
      el.ws.add(new Option(w.name && w.name !== w.id ? w.name + ' (' + w.id + ')' : w.id, w.id));
    }
    el.ws.value = current;
  }

  function renderOverview() {
    const active = document.activeElement;
    const locations = state.locations;
    renderLocationSummary(locations);
    const keep = new Set(locations.map((l) => l.name));
    for (const [name, row] of state.locRows) {
      if (!keep.has(name)) {
        row.tr.remove();
        state.locRows.delete(name);
      }
    }
    let previous = null;
    for (const loc of locations) {
      let row = state.locRows.get(loc.name);
      if (!row) {
        row = makeLocationRow(loc);
        state.locRows.set(loc.name, row);
      }
      updateLocationRow(row, loc);
      const expected = previous ? previous.nextSibling : el.locRows.firstChild;
      if (expected !== row.tr) el.locRows.insertBefore(row.tr, expected);
      previous = row.tr;
    }
    el.locEmpty.hidden = locations.length > 0;
    if (active && active !== document.activeElement && active.isConnected) {
      active.focus({preventScroll: true});
    }
  }

  function renderLocationSummary(locations) {
    const sum = (f) => locations.reduce((n, l) => n + ((l.seats && l.seats[f]) || 0), 0);
    const notLive = locations.filter((l) => !l.live && l.state !== 'disabled').length;
    const items = [
      ['Locations', locations.length, ''],
      ['Live', locations.filter((l) => l.live).length, ''],
      ['Not live', notLive, notLive > 0 ? 'dash-attention' : ''],
      ['Seats', sum('total'), ''],
      ['Occupied', sum('occupied'), ''],
      ['Free', sum('free'), ''],
      ['Failed', sum('failed'), sum('failed') > 0 ? 'dash-attention' : ''],
    ];
    const sig = JSON.stringify(items);
    if (el.locSummary.dataset.sig === sig) return;
    el.locSummary.dataset.sig = sig;
    el.locSummary.replaceChildren(...items.map(([label, n, cls]) => {
      const li = make('li', 'dash-count ' + cls);
      li.dataset.count = label.toLowerCase().replace(/ /g, '-');
      li.append(make('span', 'dash-count-n', String(n)), make('span', 'dash-count-label', label));
      return li;
    }));
  }

  const LOC_COLUMNS = [
    {key: 'name', label: 'Location'},
    {key: 'state', label: 'State'},
    {key: 'lease', label: 'Controller'},
    {key: 'pass', label: 'Last pass'},
    {key: 'free', label: 'Free'},
    {key: 'occupied', label: 'Occupied'},
    {key: 'failed', label: 'Failed'},
    {key: 'hub', label: 'Hub'},
    {key: 'actions', label: 'Actions'},
  ];

  function makeLocationRow(loc) {
    const tr = make('tr', 'dash-loc-row');
    tr.dataset.location = loc.name;
    const cells = {};
    for (const c of LOC_COLUMNS) {
      const cell = make(c.key === 'name' ? 'th' : 'td', 'dash-lcol-' + c.key);
      if (c.key === 'name') cell.scope = 'row';
      cell.dataset.label = c.label;
      cells[c.key] = cell;
      tr.append(cell);
    }
    const link = make('a', 'dash-loc-open', loc.name);
    link.href = hashOf({kind: 'location', name: loc.name});
    link.setAttribute('aria-label', 'Seats of location ' + loc.name);
    cells.name.append(link);
    const actions = make('div', 'dash-actions');
    const buttons = {
      draining: locationButton('Drain', 'draining', loc.name),
      active: locationButton('Activate', 'active', loc.name),
      disabled: locationButton('Disable', 'disabled', loc.name),
    };
    actions.append(buttons.draining, buttons.active, buttons.disabled);
    cells.actions.append(actions);
    return {tr, cells, buttons, sigs: {}};
  }

  function locationButton(label, target, name) {
    const b = make('button', 'dash-button dash-small', label);
    b.type = 'button';
    b.dataset.action = target === 'draining' ? 'drain' : target === 'active' ? 'activate' : 'disable';
    b.setAttribute('aria-label', label + ' location ' + name);
    b.addEventListener('click', () => onLocationAction(target, name, b));
    return b;
  }

  function updateLocationRow(row, loc) {
    row.loc = loc;
    row.tr.dataset.state = loc.state;
    row.tr.dataset.live = loc.live ? 'true' : 'false';
    const seats = loc.seats || {};
    row.tr.classList.toggle('dash-row-attention',
                            (!loc.live && loc.state !== 'disabled') || (seats.failed || 0) > 0);
    const total = seats.total || 0;
    setCell(row, 'name', loc.fqdn + '|' + total, () => {
      const out = [row.cells.name.firstChild];
      out.push(make('span', 'dash-sub', total + (total === 1 ? ' seat' : ' seats')));
      if (loc.fqdn) out.push(make('span', 'dash-sub', loc.fqdn));
      return out;
    });
    const liveWord = loc.live ? 'live' : loc.last_pass ? 'not live' : 'no pass yet';
    setCell(row, 'state', loc.state + '|' + liveWord, () => [
      make('span', 'dash-state dash-state-' + loc.state, STATE_WORDS[loc.state] || loc.state),
      make('span', 'dash-live-word ' + (loc.live ? 'dash-live-yes' : 'dash-live-no'), liveWord),
    ]);
    const lease = loc.lease;
    setCell(row, 'lease', JSON.stringify(lease), () => {
      if (!lease) return muted('none');
      const out = [make('span', 'dash-lease', lease.holder + ' #' + lease.epoch)];
      const t = make('span', 'dash-sub', 'lease until ' + formatClock(lease.expires));
      out.push(t);
      return out;
    });
    const pass = loc.last_pass;
    setCell(row, 'pass', pass ? formatAgo(pass.time) + pass.time + pass.duration_ms : '', () => {
      if (!pass) return muted('never');
      const t = make('time', null, formatAgo(pass.time));
      t.dateTime = pass.time;
      t.title = formatClock(pass.time) + ' · ' + pass.passes + ' passes';
      return [t, make('span', 'dash-sub', 'took ' + pass.duration_ms + ' ms')];
    });
    for (const k of ['free', 'occupied', 'failed']) {
      const n = seats[k] || 0;
      setCell(row, k, String(n), () => [make('span', k === 'failed' && n > 0
                                                          ? 'dash-n dash-n-bad' : 'dash-n', String(n))]);
    }
    setCell(row, 'hub', loc.hub_url, () => {
      if (!loc.hub_url) return muted('not set');
      const a = make('a', 'dash-hub', loc.hub_url);
      a.href = loc.hub_url;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      return [a];
    });
    const operator = state.role === 'operator';
    const buttons = Object.values(row.buttons);
    const focused = buttons.find((b) => b === document.activeElement);
    row.buttons.draining.hidden = loc.state !== 'active';
    row.buttons.active.hidden = loc.state === 'active';
    row.buttons.disabled.hidden = loc.state === 'disabled';
    for (const b of buttons) {
      if (operator) b.setAttribute('aria-disabled', 'true');
      else b.removeAttribute('aria-disabled');
    }
    // The button just used may be gone with the new state: the focus stays in the row.
    if (focused && focused.hidden) {
      const next = buttons.find((b) => !b.hidden);
      if (next) next.focus({preventScroll: true});
    }
  }

  async function onLocationAction(target, name, button) {
    const verbs = {draining: 'drain', active: 'activate', disabled: 'disable'};
    const where = 'location ' + name;
    if (button.getAttribute('aria-disabled') === 'true') {
      setAlert('Not allowed: you are signed in with an operator token, which can only read. ' +
               'To ' + verbs[target] + ' ' + where + ', sign in with an admin token.');
      return;
    }
    const loc = state.locations.find((l) => l.name === name) || {seats: {}};
    const occupied = (loc.seats && loc.seats.occupied) || 0;
    const running = occupied === 1 ? '1 seat in use keeps' : occupied + ' seats in use keep';
    const ask = {
      draining: {title: 'Drain ' + where + '?',
                 text: 'No new registration goes to ' + name + ': workshops that also run ' +
                       'elsewhere take them there, others are refused as full. ' + running +
                       ' running to their deadline.',
                 confirm: 'Drain location'},
      disabled: {title: 'Disable ' + where + '?',
                 text: 'No new registration goes to ' + name + ', and its seats no longer count ' +
                       'as capacity. ' + running + ' running to their deadline.',
                 confirm: 'Disable location'},
      active: {title: 'Activate ' + where + '?',
               text: 'New registrations may go to ' + name + ' again (while its controller ' +
                     'is live), and its seats count as capacity.',
               confirm: 'Activate location'},
    }[target];
    const answer = await confirmDialog(ask);
    button.focus();
    if (!answer.ok) return;
    setAlert('');
    try {
      const r = await api('/api/v1/locations/' + encodeURIComponent(name),
                          {method: 'PATCH', body: {state: target}});
      setStatus('Location ' + name + ' is now ' + r.state + '.');
    } catch (e) {
      if (e.status === 401) {
        logout('Your token is no longer accepted (unknown or revoked). Sign in again.');
        return;
      }
      setAlert(describeError(e, verbs[target] + ' ' + where));
      return;
    }
    refreshNow();
  }

  // --- filters and sort ---

  function loadFilters() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(FILTER_KEY) || 'null');
      if (saved && typeof saved === 'object') Object.assign(state.filters, saved);
    } catch (e) { /* ignore a damaged entry */ }
    el.fText.value = state.filters.text;
    el.fSort.value = state.filters.sort;
    el.fDir.value = state.filters.dir;
  }

  function saveFilters() {
    sessionStorage.setItem(FILTER_KEY, JSON.stringify(state.filters));
  }

  function onFilterChange() {
    state.filters.location = el.fLocation.value;
    state.filters.workshop = el.fWorkshop.value;
    state.filters.phase = el.fPhase.value;
    state.filters.text = el.fText.value;
    state.filters.sort = el.fSort.value;
    state.filters.dir = el.fDir.value;
    saveFilters();
    render();
  }
  for (const f of [el.fLocation, el.fWorkshop, el.fPhase, el.fSort, el.fDir]) {
    f.addEventListener('change', onFilterChange);
  }
  el.fText.addEventListener('input', onFilterChange);
  $('dash-filters').addEventListener('submit', (ev) => ev.preventDefault());

  // Keeps a select's options equal to `values` (plus "All") without rebuilding it, so a select
  // the user is on keeps its focus and value.
  function syncOptions(select, values, current) {
    const want = [''].concat(values);
    const have = Array.from(select.options).map((o) => o.value);
    if (want.join('\u0000') !== have.join('\u0000')) {
      while (select.options.length > 1) select.remove(1);
      for (const v of values) select.add(new Option(v, v));
    }
    select.value = want.includes(current) ? current : '';
  }

  function matches(seat) {
    const f = state.filters;
    if (f.location && seat.location !== f.location) return false;
    if (f.workshop && seat.workshop !== f.workshop) return false;
    if (f.phase && seat.phase !== f.phase) return false;
    const text = f.text.trim().toLowerCase();
    if (text) {
      const o = seat.occupant;
      if (!o) return false;
      const hay = [o.name, o.email, o.company].join(' ').toLowerCase();
      if (!hay.includes(text)) return false;
    }
    return true;
  }

  function compare(a, b) {
    const f = state.filters;
    const sign = f.dir === 'desc' ? -1 : 1;
    let d = 0;
    if (f.sort === 'time') {
      const ta = timeLeftSeconds(a);
      const tb = timeLeftSeconds(b);
      d = (ta === null ? Infinity : ta) - (tb === null ? Infinity : tb);
    } else if (f.sort === 'progress') {
      const pa = progressPercent(a);
      const pb = progressPercent(b);
      d = (pa === null ? -1 : pa) - (pb === null ? -1 : pb);
    } else if (f.sort === 'phase') {
      d = PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase);
    }
    if (Number.isNaN(d)) d = 0;
    if (d !== 0) return sign * d;
    return sign * (a.seat - b.seat);
  }

  // --- rendering ---

  const COLUMNS = [
    {key: 'seat', label: 'Seat', sort: 'seat'},
    {key: 'phase', label: 'Phase', sort: 'phase'},
    {key: 'occupant', label: 'Occupant'},
    {key: 'time', label: 'Time left', sort: 'time'},
    {key: 'progress', label: 'Progress', sort: 'progress'},
    {key: 'activity', label: 'Last activity'},
    {key: 'conditions', label: 'Conditions'},
    {key: 'drift', label: 'Drift'},
    {key: 'actions', label: 'Actions'},
  ];

  function render() {
    const seats = state.seats;
    if (seats === null) return;  // not loaded yet
    const active = document.activeElement;

    // Filters' choices come from the data.
    const uniq = (xs) => Array.from(new Set(xs)).sort();
    syncOptions(el.fLocation, uniq(seats.map((s) => s.location)), state.filters.location);
    syncOptions(el.fWorkshop, uniq(seats.map((s) => s.workshop)), state.filters.workshop);
    const phases = PHASES.filter((p) => seats.some((s) => s.phase === p))
                       .concat(uniq(seats.map((s) => s.phase).filter((p) => !PHASES.includes(p))));
    syncOptions(el.fPhase, phases, state.filters.phase);

    renderSummary(seats);
    renderForeign();
    announceChanges(seats);

    const shown = seats.filter(matches).sort(compare);
    const byGroup = new Map();
    for (const s of seats) {
      const k = s.location + '\u0000' + s.workshop;
      if (!byGroup.has(k)) byGroup.set(k, []);
    }
    for (const s of shown) byGroup.get(s.location + '\u0000' + s.workshop).push(s);

    const order = Array.from(byGroup.keys()).sort();
    for (const [k, g] of state.groups) {
      if (!byGroup.has(k)) {
        g.section.remove();
        state.groups.delete(k);
      }
    }
    let previous = null;
    for (const k of order) {
      let g = state.groups.get(k);
      const list = byGroup.get(k);
      if (!g) {
        g = makeGroup(list.length ? list[0] : seats.find((s) => s.location + '\u0000' + s.workshop === k));
        state.groups.set(k, g);
      }
      const expected = previous ? previous.nextSibling : el.groups.firstChild;
      if (expected !== g.section) el.groups.insertBefore(g.section, expected);
      previous = g.section;
      g.section.hidden = list.length === 0;
      updateGroup(g, list, seats.filter((s) => s.location + '\u0000' + s.workshop === k).length);
    }
    el.empty.hidden = shown.length > 0;
    el.empty.textContent = seats.length > 0 ? 'No seat matches the filters.'
        : state.view.kind === 'location' ? 'Location ' + state.view.name + ' has no seats.'
        : 'Workshop ' + state.view.id + ' has no seats.';

    if (active && active !== document.activeElement && active.isConnected) {
      active.focus({preventScroll: true});
    }
  }

  function renderSummary(seats) {
    const count = (pred) => seats.filter(pred).length;
    const items = [
      ['Seats', seats.length, ''],
      ['Occupied', count((s) => s.occupied), ''],
      ['Free', count((s) => !s.occupied), ''],
      ['Failed', count((s) => s.phase === 'Failed'), 'dash-summary-failed'],
      ['Drift', Array.from(state.drift.values()).reduce((n, l) => n + l.length, 0),
       'dash-summary-drift'],
    ];
    for (const p of PHASES) {
      if (p === 'Failed') continue;
      const n = count((s) => s.phase === p);
      if (n > 0) items.push([p, n, 'dash-phase-' + p.toLowerCase()]);
    }
    const sig = JSON.stringify(items);
    if (el.summary.dataset.sig === sig) return;
    el.summary.dataset.sig = sig;
    el.summary.replaceChildren();
    for (const [label, n, cls] of items) {
      const li = make('li', 'dash-count ' + (cls || ''));
      li.dataset.count = label.toLowerCase();
      li.append(make('span', 'dash-count-n', String(n)), make('span', 'dash-count-label', label));
      if ((cls === 'dash-summary-failed' || cls === 'dash-summary-drift') && n > 0) {
        li.classList.add('dash-attention');
      }
      el.summary.append(li);
    }
  }

  // Drift of no seat (seat 0): foreign or orphan objects of a location, reported, not touched.
  function renderForeign() {
    const entries = [];
    for (const list of state.drift.values()) {
      for (const d of list) if (d.seat === 0) entries.push(d);
    }
    const sig = JSON.stringify(entries);
    if (el.foreign.dataset.sig === sig) return;
    el.foreign.dataset.sig = sig;
    el.foreign.hidden = entries.length === 0;
    el.foreignList.replaceChildren(...entries.map((d) => {
      const li = make('li', null);
      li.append(make('span', 'dash-drift-mark', '≠ ' + d.location + ' · ' + d.domain + ': '),
                document.createTextNode(d.observed + ' (expected ' + d.expected + '; planned: ' +
                                        d.planned + ')'));
      return li;
    }));
  }

  function announceChanges(seats) {
    const changes = [];
    for (const s of seats) {
      const k = keyOf(s);
      const before = state.phases.get(k);
      if (before !== undefined && before !== s.phase) {
        changes.push('Seat ' + s.seat + ' (' + s.location + ') ' + before + ' → ' + s.phase);
      }
      state.phases.set(k, s.phase);
    }
    if (changes.length > 0) {
      const text = changes.length > 4 ? changes.length + ' seats changed phase.' : changes.join('. ') + '.';
      announce(text);
    }
  }

  function makeGroup(sample) {
    const section = make('section', 'dash-group');
    const id = 'dash-g-' + (state.groups.size + 1) + '-' + Math.random().toString(36).slice(2, 8);
    const heading = make('h3', null);
    heading.id = id;
    section.setAttribute('aria-labelledby', id);
    section.dataset.location = sample.location;
    section.dataset.workshop = sample.workshop;
    const scroll = make('div', 'dash-scroll');
    scroll.tabIndex = 0;  // a scrollable region is reachable by keyboard
    scroll.setAttribute('role', 'region');
    scroll.setAttribute('aria-labelledby', id);
    const table = make('table', 'dash-table');
    const caption = make('caption', 'visually-hidden',
                         'Seats of ' + sample.workshop + ' on ' + sample.location);
    const thead = make('thead');
    const tr = make('tr');
    const headers = {};
    for (const c of COLUMNS) {
      const th = make('th', 'dash-col-' + c.key);
      th.scope = 'col';
      if (c.sort) {
        const b = make('button', 'dash-sort', c.label);
        b.type = 'button';
        b.addEventListener('click', () => {
          if (state.filters.sort === c.sort) {
            state.filters.dir = state.filters.dir === 'asc' ? 'desc' : 'asc';
          } else {
            state.filters.sort = c.sort;
            state.filters.dir = 'asc';
          }
          el.fSort.value = state.filters.sort;
          el.fDir.value = state.filters.dir;
          saveFilters();
          render();
        });
        th.append(b);
        headers[c.sort] = th;
      } else {
        th.textContent = c.label;
      }
      tr.append(th);
    }
    thead.append(tr);
    const tbody = make('tbody');
    table.append(caption, thead, tbody);
    scroll.append(table);
    section.append(heading, scroll);
    return {section, heading, tbody, headers, rows: new Map()};
  }

  function updateGroup(g, list, total) {
    const first = list[0] || {};
    const heading = (first.workshop || g.section.dataset.workshop) + ' · ' +
                    (first.location || g.section.dataset.location) + ' (' + list.length +
                    (list.length === total ? '' : ' of ' + total) + (total === 1 ? ' seat)' : ' seats)');
    if (g.heading.textContent !== heading) g.heading.textContent = heading;
    for (const [sort, th] of Object.entries(g.headers)) {
      const v = state.filters.sort === sort
                    ? (state.filters.dir === 'desc' ? 'descending' : 'ascending') : 'none';
      if (th.getAttribute('aria-sort') !== v) th.setAttribute('aria-sort', v);
    }
    const keep = new Set(list.map(keyOf));
    for (const [k, row] of g.rows) {
      if (!keep.has(k)) {
        row.tr.remove();
        g.rows.delete(k);
      }
    }
    let previous = null;
    for (const seat of list) {
      const k = keyOf(seat);
      let row = g.rows.get(k);
      if (!row) {
        row = makeRow(seat);
        g.rows.set(k, row);
      }
      updateRow(row, seat);
      const expected = previous ? previous.nextSibling : g.tbody.firstChild;
      if (expected !== row.tr) g.tbody.insertBefore(row.tr, expected);
      previous = row.tr;
    }
  }

  function makeRow(seat) {
    const tr = make('tr', 'dash-row');
    tr.dataset.seat = keyOf(seat);
    const cells = {};
    for (const c of COLUMNS) {
      const cell = make(c.key === 'seat' ? 'th' : 'td', 'dash-col-' + c.key);
      if (c.key === 'seat') cell.scope = 'row';
      cell.dataset.label = c.label;
      cells[c.key] = cell;
      tr.append(cell);
    }
    // The buttons are made when the seat is first occupied: most seats of a big location
    // are vacant, and a row without them is quicker to lay out.
    return {tr, cells, buttons: null, seat, sigs: {}};
  }

  function makeButtons(row, seat) {
    const actions = make('div', 'dash-actions');
    row.buttons = {
      reset: actionButton('Reset', 'reset', seat),
      cleanup: actionButton('Clean up', 'cleanup', seat),
      extend: actionButton('Extend', 'extend', seat),
    };
    actions.append(row.buttons.reset, row.buttons.cleanup, row.buttons.extend);
    row.cells.actions.append(actions);
  }

  function actionButton(label, action, seat) {
    const b = make('button', 'dash-button dash-small', label);
    b.type = 'button';
    b.dataset.action = action;
    b.setAttribute('aria-label', label + ' seat ' + seat.seat + ' (' + seat.location + ')');
    b.addEventListener('click', () => onAction(action, b));
    return b;
  }

  // Re-renders a cell only when what it shows changed (so text selection and screen-reader
  // position survive a refresh that changed nothing there).
  // `build` answers the cell's nodes, or muted(text) for a grey placeholder ("—", "vacant"),
  // written as the cell's own text: most cells of a big location are placeholders, and fewer
  // elements are quicker to lay out.
  function setCell(row, key, sig, build) {
    if (row.sigs[key] === sig) return;
    row.sigs[key] = sig;
    const cell = row.cells[key];
    const out = build();
    if (out instanceof Muted) {
      cell.textContent = out.text;
      cell.classList.add('dash-cell-muted');
    } else {
      cell.classList.remove('dash-cell-muted');
      cell.replaceChildren(...out);
    }
  }


  function updateRow(row, seat) {
    row.seat = seat;
    const failing = (seat.status && seat.status.conditions || []).filter((c) => c.status !== 'True');
    row.tr.classList.toggle('dash-row-failed', seat.phase === 'Failed');
    row.tr.dataset.phase = seat.phase;
    row.tr.dataset.occupied = seat.occupied ? 'true' : 'false';

    const resets = seat.reset_epoch || 0;
    setCell(row, 'seat', seat.seat + '|' + resets, () => {
      const out = [make('span', 'dash-seat-n', String(seat.seat))];
      if (resets > 0) out.push(make('span', 'dash-sub dash-resets', 'reset ' + resets + '×'));
      return out;
    });
    // The controller has not yet observed the latest desired change (a new occupant, a
    // reset): the server already shows the phase that follows (model::EffectivePhase), and
    // the row says a change is being applied.
    const syncing = !!(seat.status && seat.status.observed_generation < seat.generation);
    row.tr.dataset.syncing = syncing ? 'true' : 'false';
    setCell(row, 'phase', seat.phase + '|' + syncing, () => {
      const out = [make('span', 'dash-phase dash-phase-' + String(seat.phase).toLowerCase(),
                        seat.phase)];
      if (syncing) out.push(make('span', 'dash-sub dash-syncing', 'applying a change…'));
      return out;
    });

    const o = seat.occupant;
    // A failover moved a registration here or away (lifecycle.move): said for a while.
    let move = state.moves.get(keyOf(seat)) || null;
    if (move && Date.now() - Date.parse(move.time) > MOVE_SHOWN_MS) move = null;
    setCell(row, 'occupant', JSON.stringify([o, move && move.id, move && formatAgo(move.time)]), () => {
      const moved = [];
      if (move) {
        const m = make('span', 'dash-sub dash-moved',
                       '↪ ' + move.message + ' (' + formatAgo(move.time) + ')');
        m.title = move.reason;
        moved.push(m);
      }
      if (!o) return moved.length ? [make('span', 'dash-muted', 'vacant')].concat(moved) : muted('vacant');
      const email = make('span', 'dash-occ-email');
      const at = (o.email || '').indexOf('@');
      if (at > 0) {
        email.append(o.email.slice(0, at + 1), make('wbr'), o.email.slice(at + 1));
      } else {
        email.textContent = o.email || '';
      }
      const out = [make('span', 'dash-occ-name', o.name || '—'), email];
      if (o.company) out.push(make('span', 'dash-occ-company', o.company));
      return out.concat(moved);
    });

    const left = timeLeftSeconds(seat);
    const deadline = seat.registration && seat.registration.deadline;
    setCell(row, 'time', formatDuration(left) + '|' + deadline, () => {
      if (left === null && !deadline) return muted('—');
      const span = make('span', left !== null && left < 600 ? 'dash-time dash-time-low' : 'dash-time',
                        formatDuration(left));
      const out = [span];
      if (deadline && seat.registration.state === 'active') {
        const until = make('span', 'dash-sub', 'until ' + formatClock(deadline));
        out.push(until);
      }
      return out;
    });

    const pct = progressPercent(seat);
    setCell(row, 'progress', String(pct), () => {
      if (pct === null) return muted('—');
      const bar = make('progress', 'dash-progress');
      bar.max = 100;
      bar.value = pct;
      bar.setAttribute('aria-label', 'Progress of seat ' + seat.seat);
      return [bar, make('span', 'dash-pct', pct + ' %')];
    });

    const act = lastActivity(seat);
    setCell(row, 'activity', act ? formatAgo(act) + act : '—', () => {
      if (!act) return muted('—');
      const t = make('time', null, formatAgo(act));
      t.dateTime = act;
      t.title = formatClock(act);
      return [t];
    });

    const conditions = (seat.status && seat.status.conditions) || [];
    const lastError = (seat.status && seat.status.last_error) || '';
    setCell(row, 'conditions', JSON.stringify([conditions, lastError]), () => {
      if (conditions.length === 0 && !lastError) return muted('—');
      const ul = make('ul', 'dash-conditions');
      // All true: one line. Otherwise the true ones on one line and each failing one in full.
      const good = conditions.filter((c) => c.status === 'True');
      if (good.length > 0) {
        const li = make('li', 'dash-cond-ok');
        li.append(make('span', 'dash-cond-mark', '✓'),
                  document.createTextNode(' ' + (good.length === conditions.length
                      ? 'all ready'
                      : good.map((c) => CONDITION_NAMES[c.type] || c.type).join(', '))));
        li.title = good.map((c) => (CONDITION_NAMES[c.type] || c.type) + ': ' + c.reason).join('\n');
        ul.append(li);
      }
      for (const c of conditions) {
        const ok = c.status === 'True';
        if (ok) continue;
        const li = make('li', ok ? 'dash-cond-ok' : 'dash-cond-bad');
        const name = CONDITION_NAMES[c.type] || c.type;
        li.append(make('span', 'dash-cond-mark', ok ? '✓' : '✗'),
                  document.createTextNode(' ' + name + (ok ? '' : ': ' + c.status)));
        if (!ok && (c.reason || c.message)) {
          li.append(make('span', 'dash-cond-reason',
                         [c.reason, c.message].filter(Boolean).join(' — ')));
        }
        ul.append(li);
      }
      const out = [ul];
      if (lastError) out.push(make('span', 'dash-last-error', 'Last error: ' + lastError));
      return out;
    });
    row.tr.classList.toggle('dash-row-attention', failing.length > 0 || !!lastError);

    const drift = state.drift.get(keyOf(seat)) || [];
    setCell(row, 'drift', JSON.stringify(drift), () => {
      if (drift.length === 0) return muted('none');
      const ul = make('ul', 'dash-drift');
      for (const d of drift) {
        const li = make('li', null);
        li.append(make('span', 'dash-drift-mark', '≠ ' + d.domain),
                  make('span', 'dash-sub', 'expected ' + d.expected + ', observed ' + d.observed +
                                               (d.planned ? '; planned: ' + d.planned : '')));
        ul.append(li);
      }
      return [ul];
    });

    const occupied = !!seat.occupied;
    const hasRegistration = !!(seat.registration && seat.registration.state === 'active');
    const operator = state.role === 'operator';
    if (!row.buttons && !occupied && !hasRegistration) return;
    if (!row.buttons) makeButtons(row, seat);
    for (const [action, b] of Object.entries(row.buttons)) {
      const usable = action === 'extend' ? hasRegistration : occupied;
      b.hidden = !usable;
      // Operators see the actions but cannot use them: aria-disabled keeps them focusable
      // so the reason can be given when pressed.
      if (operator) b.setAttribute('aria-disabled', 'true');
      else b.removeAttribute('aria-disabled');
    }
  }

  // --- actions ---

  function confirmDialog({title, text, confirm, minutes}) {
    return new Promise((resolve) => {
      el.dialogTitle.textContent = title;
      el.dialogText.textContent = text;
      el.dialogConfirm.textContent = confirm;
      el.dialogMinutesBox.hidden = !minutes;
      el.dialogMinutes.disabled = !minutes;
      if (minutes) el.dialogMinutes.value = '30';
      el.dialog.returnValue = '';
      const onClose = () => {
        el.dialog.removeEventListener('close', onClose);
        const ok = el.dialog.returnValue === 'confirm';
        resolve({ok, minutes: ok && minutes ? parseInt(el.dialogMinutes.value, 10) : null});
      };
      el.dialog.addEventListener('close', onClose);
      el.dialog.showModal();
      // A destructive action starts on Cancel, so a stray Enter does nothing.
      (minutes ? el.dialogMinutes : $('dash-dialog-cancel')).focus();
    });
  }

  async function onAction(action, button) {
    const seat = button.closest('tr') && findSeat(button.closest('tr').dataset.seat);
    if (!seat) return;
    const where = 'seat ' + seat.seat + ' (' + seat.location + ')';
    const who = seat.occupant ? (seat.occupant.name || seat.occupant.email) : 'nobody';
    const verbs = {reset: 'reset', cleanup: 'clean up', extend: 'extend'};
    if (button.getAttribute('aria-disabled') === 'true') {
      setAlert('Not allowed: you are signed in with an operator token, which can only read. ' +
               'To ' + verbs[action] + ' ' + where + ', sign in with an admin token.');
      return;
    }
    let ask;
    if (action === 'reset') {
      ask = {title: 'Reset ' + where + '?',
             text: 'The notebooks and appliances of ' + who + ' are recreated as shipped. ' +
                   'Their work on this seat is lost. The registration keeps its time.',
             confirm: 'Reset seat'};
    } else if (action === 'cleanup') {
      ask = {title: 'Clean up ' + where + '?',
             text: 'The registration of ' + who + ' ends now: progress is harvested, the home ' +
                   'is wiped and the seat is freed for the next participant.',
             confirm: 'Clean up seat'};
    } else {
      ask = {title: 'Extend ' + where + '?',
             text: 'Adds time to the registration of ' + who + ' (currently ' +
                   formatDuration(timeLeftSeconds(seat)) + ' left).',
             confirm: 'Extend', minutes: true};
    }
    const answer = await confirmDialog(ask);
    button.focus();
    if (!answer.ok) return;
    if (action === 'extend' && !(answer.minutes >= 1 && answer.minutes <= 10080)) {
      setAlert('Enter between 1 and 10080 minutes.');
      return;
    }
    setAlert('');
    try {
      if (action === 'extend') {
        const r = await api('/api/v1/registrations/' + seat.registration.id + ':extend',
                            {method: 'POST', body: {minutes: answer.minutes}});
        setStatus('Extended ' + where + ' by ' + answer.minutes + ' min: it now ends ' +
                  formatClock(r.registration.deadline) + '.');
      } else {
        const r = await api(seatPath(seat, action), {method: 'POST'});
        const done = action === 'reset' ? 'Reset of ' + where + ' requested: it is being rebuilt.'
                                        : where[0].toUpperCase() + where.slice(1) + ' cleaned up: the registration ended.';
        setStatus(r.changed ? done : 'Nothing to do: ' + where + ' is already vacant.');
      }
    } catch (e) {
      if (e.status === 401) {
        logout('Your token is no longer accepted (unknown or revoked). Sign in again.');
        return;
      }
      setAlert(describeError(e, verbs[action] + ' ' + where));
      return;
    }
    refreshNow();
  }

  function findSeat(key) {
    return state.seats.find((s) => keyOf(s) === key);
  }

  // --- CSV ---

  el.csv.addEventListener('click', async () => {
    setAlert('');
    try {
      const res = await api('/api/v1/registrations.csv', {raw: true});
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = make('a', 'visually-hidden', 'download');
      a.href = url;
      a.download = 'registrations-' + new Date().toISOString().slice(0, 10) + '.csv';
      document.body.append(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10000);
      setStatus('Registrations exported (CSV).');
    } catch (e) {
      if (e.status === 401) {
        logout('Your token is no longer accepted (unknown or revoked). Sign in again.');
        return;
      }
      setAlert(describeError(e, 'export the registrations'));
    }
  });

  // --- large type (projector) ---

  function setLarge(on) {
    document.documentElement.classList.toggle('dash-large', on);
    el.large.setAttribute('aria-pressed', on ? 'true' : 'false');
    localStorage.setItem(LARGE_KEY, on ? '1' : '0');
  }
  el.large.addEventListener('click', () => setLarge(el.large.getAttribute('aria-pressed') !== 'true'));

  // --- start ---

  loadFilters();
  setLarge(localStorage.getItem(LARGE_KEY) === '1');
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    // The first view's data is asked beside the token check, not after it; the sign-in form
    // is not shown meanwhile.
    el.login.hidden = true;
    state.token = saved;
    if (viewFromHash().kind === 'overview') {
      const promise = api('/api/v1/locations');
      promise.catch(() => {});  // a refused token is reported by signIn
      state.prefetch = {path: '/api/v1/locations', promise};
    }
    signIn(saved).catch((e) => {
      state.prefetch = null;
      el.login.hidden = false;
      state.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      el.loginError.textContent = e.status === 401
          ? 'Your saved token is no longer accepted. Sign in again.'
          : describeError(e, 'sign in');
      el.token.focus();
    });
  } else {
    el.token.focus();
  }
})();
