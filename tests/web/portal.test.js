// The portal and the participant page in a real browser against a real `wod up`
// (tests/web/lib/harness.js; docs/web.md).
'use strict';
const assert = require('node:assert/strict');
const h = require('./lib/harness');

async function main() {
  h.requireServices();
  const wod = await h.startWod({ name: 'portal', userPrefix: 'wodweb', uidBase: 64000 });
  let b;
  try {
    b = await h.launchBrowser();
    const page = await b.page();
    await page.goto(`${wod.baseUrl}/`);
    await h.screenshot(page, 'portal-01-catalog');
    assert.deepEqual(b.external, [], 'no request left 127.0.0.1');
  } finally {
    if (b) await b.close();
    await wod.stop();
  }
  console.log('PASS portal.test.js');
}

main().catch((e) => {
  console.error('FAIL portal.test.js:', e);
  process.exit(1);
});
