// The participant page (participant.html at /p/{token}): the state of one registration from
// GET /api/v1/me (Authorization: Participant <token>), polled every 1.5 s while it is
// active: provisioning -> ready with credentials, the hub button, a countdown, progress per
// notebook, "end now" (POST /api/v1/me:end behind a confirmation dialog) and the badge once
// the workshop has ended (polled a little longer then, until the harvested progress shows).
'use strict';

(function () {
  const { el, api, plural, formatTime, formatCountdown, copyText } = window.wod;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 1500;

  const token = decodeURIComponent(window.location.pathname.replace(/^\/p\//, '').replace(/\/$/, ''));
  const auth = { Authorization: `Participant ${token}` };

  let me = null;
  let deadlineAt = 0;        // local clock: when the time is up
  let lastStatus = '';
  let lastCredentials = '';
  let lastProgress = '';
  let timer = null;
  let harvestPolls = 0;
  const HARVEST_POLLS = 40;  // about two minutes

  function setStatus(kind, text) {
    const box = $('status');
    box.className = `notice notice-${kind}`;
    // Only a change is written, so screen readers hear each state once.
    if (text !== lastStatus) {
      box.textContent = text;
      lastStatus = text;
    }
  }

  function setPhase(kind, text) {
    $('phase').className = `pill pill-${kind}`;
    $('phase').textContent = text;
  }

  function show(id, on) {
    $(id).hidden = !on;
  }

  // --- the parts of the page ---

  function renderCredentials(c) {
    const key = `${c.user}\n${c.password}`;
    if (key === lastCredentials) return;  // not redrawn: keeps focus and selection
    lastCredentials = key;
    $('user').textContent = c.user;
    $('password').textContent = c.password;
  }

  function renderHub(url) {
    const ok = typeof url === 'string' && /^https?:\/\//.test(url);
    show('open-workshop', ok);
    show('no-hub', !ok);
    if (ok) $('open-workshop').setAttribute('href', url);
  }

  function tickCountdown() {
    if (!me || me.state !== 'active') return;
    const left = (deadlineAt - Date.now()) / 1000;
    $('countdown').textContent = formatCountdown(left);
    if (left <= 0) {
      setStatus('warn', 'Time is up: your environment is being cleaned up.');
      setPhase('warn', 'Time is up');
    }
  }

  function renderProgress(p) {
    const key = JSON.stringify([me && me.state, p]);
    if (key === lastProgress) return;
    lastProgress = key;
    const notebooks = p && Array.isArray(p.notebooks) ? p.notebooks : [];
    show('progress-empty', notebooks.length === 0);
    $('progress-empty').textContent = me && me.state === 'active'
      ? 'No progress yet: run the cells of the notebooks and it shows here.'
      : 'No progress recorded yet.';
    const total = p && p.total;
    if (total && total.code_cells - total.baseline_executed > 0) {
      const counted = total.code_cells - total.baseline_executed;
      $('progress-total').textContent =
        `${Math.round(total.fraction * 100)}% done: ${total.executed} of ${plural(counted, 'cell', 'cells')} run.`;
    } else {
      $('progress-total').textContent = '';
    }
    $('progress-list').replaceChildren(
      ...notebooks.map((n) => {
        const counted = Math.max(0, n.code_cells - n.baseline_executed);
        // "WKSHP-X/1-Lab.ipynb" -> "1-Lab": the folder is the same for every notebook.
        const name = String(n.file || '').replace(/^.*\//, '').replace(/\.ipynb$/, '');
        const label = n.readable === false
          ? 'cannot be read'
          : counted === 0 ? 'nothing to run' : `${n.executed} of ${counted}`;
        return el(
          'li',
          {},
          el('span', { text: name }),
          el('progress', {
            max: String(Math.max(counted, 1)),
            value: String(counted ? n.executed : 0),
            'aria-label': `${name}: ${label}`,
          }),
          el('span', { class: 'muted', text: label }),
        );
      }),
    );
  }

  function renderBadge(m) {
    const name = (m.workshop && m.workshop.name) || m.workshop.id;
    $('badge-name').textContent = name;
    $('badge').setAttribute('aria-label', `Badge: completed ${name}`);
  }

  function render(m) {
    me = m;
    const name = (m.workshop && (m.workshop.name || m.workshop.id)) || 'Your workshop';
    $('title').textContent = name;
    document.title = `${name} · wod`;
    $('seat').textContent = `Seat ${m.seat}`;
    const active = m.state === 'active';
    const ready = active && m.phase === 'Ready' && m.credentials;

    if (active) deadlineAt = Date.now() + m.time_left_seconds * 1000;
    show('time-section', active);
    show('end-section', active);
    show('ready-section', !!ready);
    show('badge-section', m.state === 'ended');
    show('progress-section', active || m.state === 'ended');
    $('deadline').textContent = active ? `Your seat is yours until ${formatTime(m.deadline)}.` : '';

    if (ready) {
      renderCredentials(m.credentials);
      renderHub(m.hub_url);
      setPhase('ok', 'Ready');
      setStatus('ok', 'Your environment is ready. Sign in with the user name and password below.');
    } else if (active && m.time_left_seconds <= 0) {
      setPhase('warn', 'Time is up');
      setStatus('warn', 'Time is up: your environment is being cleaned up.');
    } else if (active && m.phase === 'Failed') {
      setPhase('bad', 'Problem');
      setStatus('bad', 'Preparing your environment ran into a problem. It is being retried; ' +
        'if it does not recover within a few minutes you will get an email.');
    } else if (active) {
      setPhase('info', 'Preparing');
      setStatus('info', 'Preparing your environment… This usually takes a few seconds; this page updates by itself.');
    } else if (m.state === 'ended') {
      setPhase('muted', 'Ended');
      setStatus('info', `This workshop ended ${m.ended ? formatTime(m.ended) : ''}. Thank you for taking part!`);
      renderBadge(m);
    } else if (m.state === 'failed') {
      setPhase('bad', 'Not available');
      setStatus('bad', 'Your seat could not be prepared, and the registration was cancelled. ' +
        'We are sorry; you can register again from the workshop list.');
    }
    renderProgress(m.progress);
    tickCountdown();
  }

  function renderInvalid() {
    me = null;
    for (const s of ['ready-section', 'time-section', 'progress-section', 'badge-section', 'end-section']) show(s, false);
    $('title').textContent = 'This link is not valid';
    document.title = 'Link not valid · wod';
    $('seat').textContent = '';
    setPhase('bad', 'Invalid link');
    setStatus('bad', 'This workshop link is not valid. Check that you copied the whole link from your email, ' +
      'or register again from the workshop list.');
  }

  // --- polling ---

  async function poll() {
    clearTimeout(timer);
    const r = await api('GET', '/api/v1/me', undefined, auth);
    if (r.status === 200 && r.body) {
      render(r.body);
      if (r.body.state === 'active') {
        timer = setTimeout(poll, POLL_MS);
      } else if (r.body.state === 'ended' && !r.body.progress && harvestPolls < HARVEST_POLLS) {
        // The controller harvests the progress when it wipes the seat, moments after the end.
        harvestPolls += 1;
        timer = setTimeout(poll, POLL_MS * 2);
      }
      return;
    }
    if (r.status === 401 || r.status === 404) {
      renderInvalid();
      return;
    }
    // The server is restarting or unreachable: say so and keep trying.
    setStatus('warn', 'The server cannot be reached right now; retrying…');
    timer = setTimeout(poll, POLL_MS * 2);
  }

  // --- actions ---

  async function copyFrom(id, what) {
    const ok = await copyText($(id).textContent);
    $('copy-result').textContent = ok ? `${what} copied.` : `Copying failed: select the ${what.toLowerCase()} and copy it.`;
  }
  $('copy-user').addEventListener('click', () => copyFrom('user', 'User name'));
  $('copy-password').addEventListener('click', () => copyFrom('password', 'Password'));

  $('end-button').addEventListener('click', () => $('end-dialog').showModal());
  $('end-dialog').addEventListener('close', async () => {
    if ($('end-dialog').returnValue !== 'end') {
      $('end-button').focus();
      return;
    }
    $('end-button').disabled = true;
    setStatus('info', 'Ending your workshop…');
    const r = await api('POST', '/api/v1/me:end', undefined, auth);
    $('end-button').disabled = false;
    if (r.status !== 200) {
      setStatus('bad', 'Ending the workshop failed. Try again in a moment.');
      return;
    }
    await poll();
    $('main').focus();
  });

  if (!token) renderInvalid();
  else poll();
  setInterval(tickCountdown, 1000);
})();
