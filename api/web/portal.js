// The portal (index.html): the catalog with search and tabs, a workshop's detail page and
// its registration form. Client-side routing: "/" is the catalog, "/workshops/{id}" a
// workshop (both served as index.html). Data comes from GET /api/v1/workshops; a registration
// is POST /api/v1/registrations and leads to the participant page /p/{token}.
'use strict';

(function () {
  const { el, api, plural, formatDuration, formatTime } = window.wod;
  const $ = (id) => document.getElementById(id);

  let workshops = [];
  let loaded = false;
  let activeTab = 'all';
  let current = null;  // the workshop of the detail view

  // --- categories and tabs ---

  // A workshop's categories, whether wod.yml gave a list or one text.
  function categoriesOf(w) {
    if (Array.isArray(w.category)) return w.category.filter((c) => typeof c === 'string' && c.trim());
    if (typeof w.category === 'string' && w.category.trim()) return [w.category];
    return [];
  }

  // Tabs: All, Popular, Latest, then one per category, grouped case-insensitively and named
  // by a capitalised spelling when there is one ("data" and "Data" are the tab "Data").
  function tabList() {
    const tabs = [
      { id: 'all', label: 'All' },
      { id: 'popular', label: 'Popular' },
      { id: 'latest', label: 'Latest' },
    ];
    const seen = new Map();
    for (const w of workshops) {
      for (const c of categoriesOf(w)) {
        const key = c.trim().toLowerCase();
        const label = c.trim();
        if (!seen.has(key) || (seen.get(key) === key && label !== key)) seen.set(key, label);
      }
    }
    const names = [...seen.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    for (const [key, label] of names) tabs.push({ id: `category:${key}`, label });
    return tabs;
  }

  function seatsTaken(w) {
    return Math.max(0, (w.capacity || 0) - (w.seats_left || 0));
  }

  // The workshops of a tab, in its order. Popular: most seats in use now, then priority.
  // Latest: the catalog's priority, highest first (the catalog gives no dates; maintainers
  // give a new workshop the highest number). All: by title.
  function workshopsOf(tab) {
    let list = workshops.slice();
    const byTitle = (a, b) => a.name.localeCompare(b.name);
    if (tab === 'popular') {
      list.sort((a, b) => seatsTaken(b) - seatsTaken(a) || b.priority - a.priority || byTitle(a, b));
    } else if (tab === 'latest') {
      list.sort((a, b) => b.priority - a.priority || byTitle(a, b));
    } else {
      list.sort(byTitle);
      if (tab.startsWith('category:')) {
        const key = tab.slice('category:'.length);
        list = list.filter((w) => categoriesOf(w).some((c) => c.trim().toLowerCase() === key));
      }
    }
    return list;
  }

  function matches(w, query) {
    if (!query) return true;
    const hay = [w.name, w.description, w.presenter, w.role, w.id, ...categoriesOf(w)]
      .join(' ')
      .toLowerCase();
    return query
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((word) => hay.includes(word));
  }

  function renderTabs() {
    const box = $('tabs');
    box.replaceChildren();
    const tabs = tabList();
    if (!tabs.some((t) => t.id === activeTab)) activeTab = 'all';
    for (const t of tabs) {
      const selected = t.id === activeTab;
      const b = el('button', {
        type: 'button',
        class: 'tab',
        role: 'tab',
        id: `tab-${t.id.replace(/[^a-z0-9]+/gi, '-')}`,
        'data-tab': t.id,
        'aria-selected': selected ? 'true' : 'false',
        'aria-controls': 'cards-panel',
        tabindex: selected ? '0' : '-1',
        text: t.label,
      });
      b.addEventListener('click', () => selectTab(t.id, false));
      box.append(b);
    }
    $('cards-panel').setAttribute('aria-labelledby', box.querySelector('[aria-selected="true"]').id);
  }

  function selectTab(id, focus) {
    activeTab = id;
    renderTabs();
    renderCards();
    if (focus) $('tabs').querySelector('[aria-selected="true"]').focus();
  }

  // Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern).
  $('tabs').addEventListener('keydown', (ev) => {
    const tabs = [...$('tabs').querySelectorAll('[role="tab"]')];
    const at = tabs.findIndex((t) => t.getAttribute('aria-selected') === 'true');
    let next = -1;
    if (ev.key === 'ArrowRight') next = (at + 1) % tabs.length;
    else if (ev.key === 'ArrowLeft') next = (at - 1 + tabs.length) % tabs.length;
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    ev.preventDefault();
    selectTab(tabs[next].dataset.tab, true);
  });

  // --- cards ---

  function seatsText(w) {
    if (w.seats_left <= 0) return 'Full';
    return `${plural(w.seats_left, 'seat', 'seats')} left`;
  }

  function card(w) {
    const full = w.seats_left <= 0;
    const who = [w.presenter, w.role].filter(Boolean).join(', ');
    return el(
      'li',
      { class: full ? 'card card-full' : 'card', 'data-workshop': w.id },
      el('h2', {}, el('a', { href: `/workshops/${encodeURIComponent(w.id)}`, text: w.name })),
      who ? el('p', { class: 'muted', text: who }) : null,
      el('ul', { class: 'tags', 'aria-label': 'Categories' },
        categoriesOf(w).map((c) => el('li', { class: 'tag', text: c }))),
      w.beta ? el('p', {}, el('span', { class: 'pill pill-info', text: 'Beta' })) : null,
      el(
        'div',
        { class: 'card-foot' },
        el('span', { text: formatDuration(w.duration_hours) }),
        el('span', {
          class: full ? 'pill pill-bad seats' : 'pill pill-ok seats',
          text: seatsText(w),
        }),
      ),
    );
  }

  function renderCards() {
    const query = $('search').value.trim();
    const list = workshopsOf(activeTab).filter((w) => matches(w, query));
    $('cards').replaceChildren(...list.map(card));
    if (!loaded) return;
    let status;
    if (workshops.length === 0) status = 'No workshop is open for registration right now.';
    else if (list.length === 0) status = `No workshop matches "${query}".`;
    else status = `${plural(list.length, 'workshop', 'workshops')} shown.`;
    $('catalog-status').textContent = status;
  }

  async function loadCatalog() {
    const r = await api('GET', '/api/v1/workshops');
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.workshops)) {
      $('catalog-status').textContent =
        'The workshop list could not be loaded. Reload the page to try again.';
      return false;
    }
    workshops = r.body.workshops;
    loaded = true;
    return true;
  }

  $('search').addEventListener('input', renderCards);

  // --- detail and registration ---

  function showView(name) {
    for (const v of ['catalog-view', 'detail-view', 'missing-view']) $(v).hidden = v !== name;
  }

  function renderDetail(w) {
    current = w;
    document.title = `${w.name} · wod`;
    $('detail-title').textContent = w.name;
    $('detail-presenter').textContent = [w.presenter, w.role].filter(Boolean).join(', ');
    $('detail-tags').replaceChildren(...categoriesOf(w).map((c) => el('li', { class: 'tag', text: c })));
    $('detail-duration').textContent = formatDuration(w.duration_hours);
    renderSeats(w);
    // The description is text: paragraphs at blank lines, never markup.
    const paragraphs = String(w.description || '').split(/\n\s*\n/).filter((p) => p.trim());
    $('detail-description').replaceChildren(...paragraphs.map((p) => el('p', { text: p })));
    const replay = w.replay_link || w.video_link;
    $('detail-replay').hidden = !replay;
    if (replay) $('detail-replay-link').setAttribute('href', replay);
    const hours = w.duration_hours ? formatDuration(w.duration_hours) : 'the workshop';
    $('terms-label').textContent =
      `I accept the terms of use: my seat is mine for ${hours} from now, then it is wiped ` +
      'and given to the next participant.';
  }

  function renderSeats(w) {
    const full = w.seats_left <= 0;
    $('detail-seats').replaceChildren(
      el('span', { class: full ? 'pill pill-bad' : 'pill pill-ok', text: seatsText(w) }),
      full ? ' Every seat is taken right now; seats free up as workshops end.' : '',
    );
  }

  const fields = ['email', 'name', 'company', 'accept_terms'];

  function setFieldError(field, message) {
    const input = $(field);
    const box = $(`${field}-error`);
    if (!input || !box) return false;
    box.textContent = message || '';
    box.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    return true;
  }

  // The message of the browser's constraint validation, in our words.
  function clientError(field) {
    const input = $(field);
    const v = input.validity;
    if (v.valid) return '';
    if (field === 'accept_terms') return 'Accept the terms to register.';
    if (v.valueMissing) {
      return { email: 'Enter your email address.', name: 'Enter your full name.', company: 'Enter your company.' }[field];
    }
    if (field === 'email' && (v.typeMismatch || v.patternMismatch)) {
      return 'Enter a valid email address, like name@example.com.';
    }
    if (v.tooLong) return 'This is too long.';
    return input.validationMessage;
  }

  function validate(field) {
    return setFieldError(field, clientError(field)) && !clientError(field);
  }

  for (const f of fields) {
    // Checked when a field is left, and again while typing once it was marked invalid.
    $(f).addEventListener('blur', () => {
      if ($(f).value !== '' || f === 'accept_terms') validate(f);
    });
    $(f).addEventListener(f === 'accept_terms' ? 'change' : 'input', () => {
      if ($(f).getAttribute('aria-invalid') === 'true') validate(f);
    });
  }

  function formMessage(kind, text) {
    const box = $('form-message');
    box.className = kind ? `notice notice-${kind}` : 'notice';
    box.textContent = text || '';
  }

  // Shows a refused registration: distinct words for each reason the API gives.
  async function showRefusal(r) {
    const e = (r.body && r.body.error) || {};
    switch (e.code) {
      case 'already_registered': {
        const until = e.deadline ? ` until ${formatTime(e.deadline)}` : '';
        formMessage('warn', `This email address is already registered for a workshop${until}. ` +
          'Use the link in your welcome mail to get back to it, or register again once it has ended.');
        setFieldError('email', `Already registered${until}.`);
        $('email').focus();
        return;
      }
      case 'full': {
        formMessage('warn', 'This workshop is full right now: every seat is taken. ' +
          'Try again later, when a seat has been freed.');
        current.seats_left = 0;
        renderSeats(current);
        return;
      }
      case 'no_backend': {
        const wait = Number(r.headers.get('Retry-After')) || 15;
        formMessage('warn', 'Seats are free, but the machines that run this workshop are ' +
          'not answering right now, so nothing was registered. ' +
          `Try again in ${plural(wait, 'second', 'seconds')}; your details are kept in the form.`);
        return;
      }
      case 'rate_limited': {
        const wait = Number(r.headers.get('Retry-After')) || 60;
        formMessage('bad', `Too many registrations from your network. Wait ${plural(wait, 'second', 'seconds')} and try again.`);
        return;
      }
      case 'workshop_not_found':
      case 'workshop_inactive':
        formMessage('bad', 'This workshop is not open for registration any more.');
        return;
      default:
        break;
    }
    if (r.status === 400 && e.field && fields.includes(e.field)) {
      const words = {
        email: e.code === 'email_denied'
          ? 'Registrations from this email address are not accepted.'
          : 'This email address was not accepted: it should look like name@example.com, with a full domain.',
        name: 'The server did not accept this name.',
        company: 'The server did not accept this company name.',
        accept_terms: 'Accept the terms to register.',
      };
      setFieldError(e.field, words[e.field]);
      formMessage('bad', 'Check the field marked below.');
      $(e.field).focus();
      return;
    }
    if (r.status === 0) {
      formMessage('bad', 'The server could not be reached. Check your connection and try again.');
      return;
    }
    formMessage('bad', `The registration failed (${e.code || `HTTP ${r.status}`}). Try again in a moment.`);
  }

  $('register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    formMessage('', '');
    let firstBad = null;
    for (const f of fields) {
      if (!validate(f) && !firstBad) firstBad = f;
    }
    if (firstBad) {
      formMessage('bad', 'Check the fields marked below.');
      $(firstBad).focus();
      return;
    }
    const button = $('register-button');
    button.disabled = true;
    button.textContent = 'Registering…';
    const r = await api('POST', '/api/v1/registrations', {
      workshop: current.id,
      email: $('email').value.trim(),
      name: $('name').value.trim(),
      company: $('company').value.trim(),
      accept_terms: $('accept_terms').checked,
    });
    button.disabled = false;
    button.textContent = 'Register';
    if (r.status === 201 && r.body && r.body.token) {
      formMessage('ok', 'Registered. Opening your workshop page…');
      window.location.assign(`/p/${encodeURIComponent(r.body.token)}`);
      return;
    }
    await showRefusal(r);
  });

  // --- routing ---

  async function route() {
    const m = /^\/workshops\/([^/]+)\/?$/.exec(window.location.pathname);
    if (!loaded) await loadCatalog();
    if (!m) {
      document.title = 'Workshops · wod';
      showView('catalog-view');
      renderTabs();
      renderCards();
      return;
    }
    const id = decodeURIComponent(m[1]);
    let w = workshops.find((x) => x.id === id);
    // Fresh seat counts for the page the participant is about to register on.
    const r = await api('GET', `/api/v1/workshops/${encodeURIComponent(id)}`);
    if (r.status === 200 && r.body) w = r.body;
    else if (r.status === 404) w = null;
    if (!w) {
      document.title = 'Workshop not found · wod';
      showView('missing-view');
      return;
    }
    formMessage('', '');
    for (const f of fields) setFieldError(f, '');
    renderDetail(w);
    showView('detail-view');
  }

  function navigate(href) {
    window.history.pushState({}, '', href);
    // The new view's heading takes the focus, so keyboard and screen reader users start there.
    route().then(() => {
      const visible = [...document.querySelectorAll('main section')].find((s) => !s.hidden);
      const heading = visible && visible.querySelector('h1');
      if (heading) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      }
    });
  }

  // Links inside the portal change the view without a reload.
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname !== '/' && !url.pathname.startsWith('/workshops/')) return;
    ev.preventDefault();
    navigate(url.pathname);
  });
  window.addEventListener('popstate', route);

  route();
})();
