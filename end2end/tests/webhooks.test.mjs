// Webhooks as a person sets them up: add an endpoint on the settings page, reveal its secret,
// send a test event, and see the delivery in the log. The receiver here checks the Standard
// Webhooks signature itself (HMAC-SHA256 over "id.timestamp.body"), so what arrives is
// verifiable with nothing but the secret the page showed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { startServer } from '../support/server.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Whether `headers` sign `body` with `secret` (`whsec_…`), per Standard Webhooks. */
function verify(secret, headers, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  return (headers['webhook-signature'] || '').split(' ').some((entry) => {
    const [version, b64] = entry.split(',');
    const given = Buffer.from(b64 || '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** A receiver on loopback that keeps every request. */
async function receiver() {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}/hooks`, received, close: () => server.close() };
}

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: add an endpoint, send a test event, see it delivered and signed`, async () => {
    // Loopback targets are refused by default (SSRF); this test's receiver is on loopback.
    const server = await startServer({ env: { ATTESTA__WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true' } });
    const hooks = await receiver();
    const { context, page, problems } = await openPage(browser, device);
    try {
      const r = await context.request.post(`${server.url}/api/setup`, {
        form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
        headers: { origin: server.url },
        maxRedirects: 0,
      });
      assert.ok(r.status() < 400, `setup: ${r.status()}`);
      await page.goto(server.url + '/settings/webhooks');
      await hydrated(page);
      await page.getByTestId('webhook-url').fill(hooks.url);
      await press(page.getByTestId('webhook-add'), device);
      const endpoint = page.getByTestId('webhook-endpoint');
      await endpoint.waitFor();
      assert.equal(await endpoint.getByTestId('webhook-endpoint-url').innerText(), hooks.url);

      await press(endpoint.getByTestId('webhook-secret'), device);
      const secret = (await endpoint.getByTestId('webhook-secret-value').innerText()).trim();
      assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);

      await press(endpoint.getByTestId('webhook-test'), device);
      const deadline = Date.now() + 15_000;
      while (hooks.received.length === 0 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
      assert.equal(hooks.received.length, 1, 'the test event arrived');
      const [delivery] = hooks.received;
      assert.equal(JSON.parse(delivery.body).type, 'webhook.test');
      assert.ok(verify(secret, delivery.headers, delivery.body), 'signed with the secret the page showed');
      assert.ok(!verify(secret, delivery.headers, delivery.body.replace('webhook.test', 'webhook.tesT')), 'a changed body fails');
      const age = Math.abs(Date.now() / 1000 - Number(delivery.headers['webhook-timestamp']));
      assert.ok(age < 300, `timestamp ${age} s off`);

      // The delivery log shows it delivered with the receiver's status code.
      await press(endpoint.getByTestId('webhook-log'), device);
      const row = endpoint.locator('[data-testid="webhook-log-row"][data-state="delivered"]');
      await row.waitFor();
      assert.match(await row.innerText(), /webhook\.test[\s\S]*204/);
      // Nothing sticks out of the page or of the endpoint's panel (the log scrolls inside it).
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page overflows by ${overflow}px`);
      const panel = await endpoint.evaluate((el) => el.scrollWidth - el.clientWidth);
      assert.ok(panel <= 0, `the endpoint panel overflows by ${panel}px`);
      await screenshot(page, `webhooks-${device.name}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      hooks.close();
      await server.stop();
    }
  });
}
