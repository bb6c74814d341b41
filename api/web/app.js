// Helpers shared by wod's pages (loaded before the page's own script): building elements
// without innerHTML (no markup is ever made from data), the JSON API, time formatting and
// copying to the clipboard. Everything hangs off window.wod.
'use strict';

(function () {
  // el('p', {class: 'x', text: 'hi'}, child, ...): an element. Attributes: `text` sets
  // textContent, `on<event>` adds a listener, true adds a bare attribute, false/null skips.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // A JSON API call: {status, body, headers}; status 0 when the server was not reached.
  async function api(method, path, body, headers) {
    const init = { method, headers: Object.assign({ Accept: 'application/json' }, headers || {}) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      const res = await fetch(path, init);
      let parsed = null;
      const text = await res.text();
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch (e) {
        parsed = null;
      }
      return { status: res.status, body: parsed, headers: res.headers };
    } catch (e) {
      return { status: 0, body: null, headers: new Headers() };
    }
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function formatDuration(hours) {
    if (!hours) return 'self-paced';
    return plural(hours, 'hour', 'hours');
  }

  // "Sunday 29 November, 23:17" in the reader's locale and time zone.
  function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return d.toLocaleString(undefined, {
      weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit',
    });
  }

  // 5025 -> "1:23:45"; under an hour "23:45".
  function formatCountdown(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    const two = (n) => String(n).padStart(2, '0');
    return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
  }

  // Copies `text`; true when it worked. The Clipboard API needs a secure context (https or
  // localhost): elsewhere a hidden textarea and execCommand('copy') do it.
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (e) {
        // fall through to the fallback
      }
    }
    const area = el('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  window.wod = { el, api, plural, formatDuration, formatTime, formatCountdown, copyText };
})();
