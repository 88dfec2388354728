// Identity and the integration surface in real browsers: signing in through the company's
// OpenID provider (the real oidc-provider the test scripts start), and a document created by a
// program through the REST API with a key made on the settings page, then signed by a signer on
// a phone and tracked to its sealed PDF through the API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { makePdf } from '../support/pdf.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';
import { MAILDEV, maildev, linkFor, signOnPhone } from '../support/ceremony.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };
const ISSUER = process.env.ATTESTA_TEST_OIDC_ISSUER;
const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');

let browser;
before(async () => {
  browser = await launch();
  if (MAILDEV) await maildev('/email/all', { method: 'DELETE' });
});
after(async () => {
  await browser?.close();
});

async function setUp(server, context) {
  const r = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(r.status() < 400, `setup: ${r.status()}`);
}

const noIdp = ISSUER ? false : 'the OpenID provider is not running (scripts/services/idp.sh start; eval "$(scripts/services/idp.sh env)")';

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: sign in with SSO through the real provider`, { skip: noIdp }, async () => {
    const server = await startServer({
      env: {
        ATTESTA__SSO__ISSUER_URL: ISSUER,
        ATTESTA__SSO__CLIENT_ID: process.env.ATTESTA_TEST_OIDC_CLIENT_ID,
        ATTESTA__SSO__CLIENT_SECRET: process.env.ATTESTA_TEST_OIDC_CLIENT_SECRET,
        ATTESTA__SSO__DISPLAY_NAME: 'Acme',
        ATTESTA__SSO__ALLOWED_DOMAINS: 'acme.test',
      },
    });
    const { context, page, problems } = await openPage(browser, device);
    try {
      await setUp(server, context);
      await context.clearCookies();
      await page.goto(server.url + '/login');
      await hydrated(page);
      const button = page.getByTestId('sso-login');
      assert.match(await button.innerText(), /Acme/);
      await screenshot(page, `sso-${device.name}-1-login`);
      assert.deepEqual(problems, [], 'our login page is clean');
      await press(button, device);

      // The provider's own login and consent pages (oidc-provider's development forms).
      await page.waitForURL((url) => url.href.startsWith(ISSUER));
      await page.locator('input[name="login"]').fill(process.env.ATTESTA_TEST_OIDC_LOGIN);
      await page.locator('input[name="password"]').fill(process.env.ATTESTA_TEST_OIDC_PASSWORD);
      await press(page.locator('button[type="submit"]'), device);
      await page.getByRole('button', { name: 'Continue' }).waitFor();
      await press(page.getByRole('button', { name: 'Continue' }), device);

      // Back on Attesta, signed in as the provider's user (a new account: acme.test is allowed).
      await page.waitForURL(server.url + '/');
      // The provider's development pages ask for a web font (no network here) and a favicon:
      // their console errors are not ours. From here on, every page is ours again.
      problems.splice(0);
      await hydrated(page);
      // textContent: the phone layout shows the name only.
      assert.match(await page.getByTestId('signed-in-user').textContent(), new RegExp(process.env.ATTESTA_TEST_OIDC_LOGIN));
      await screenshot(page, `sso-${device.name}-2-signed-in`);
      assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie or token is readable by scripts');
      const session = (await context.cookies(server.url)).find((c) => c.name === 'attesta_session');
      assert.equal(session?.httpOnly, true);

      // The session is listed like any other, on this device.
      await page.goto(server.url + '/settings/sessions');
      await hydrated(page);
      await page.locator('[data-testid="session-row"][data-current="true"]').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}

const noMail = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

test('a document created through the API is signed on a phone and tracked to its sealed PDF', { skip: noMail }, async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    await setUp(server, context);
    // The key is made on the settings page and shown exactly once.
    await page.goto(server.url + '/settings/api-keys');
    await hydrated(page);
    await page.getByLabel('Name').fill('CRM');
    await page.locator('input[name="scope"][value="send"]').check();
    await page.getByTestId('create-api-key').click();
    const key = (await page.getByTestId('api-key-secret').innerText()).trim();
    assert.match(key, /^atk_/);
    await screenshot(page, 'api-1-key-created');

    // A program creates and sends the document in one call.
    const signer = { name: 'Grace Hopper', email: 'grace@example.com' };
    const pdf = makePdf('Master services agreement', 1);
    const form = new FormData();
    form.append(
      'document',
      JSON.stringify({
        title: 'Master services agreement',
        signing_order: 'sequential',
        send: true,
        recipients: [{ ...signer, order: 1 }],
        fields: [{ recipient: signer.email, kind: 'signature', page: 1, x: 72, y: 120, width: 200, height: 50 }],
      }),
    );
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'msa.pdf');
    const auth = { authorization: `Bearer ${key}` };
    const created = await fetch(`${server.url}/api/v1/documents`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': 'msa-1' },
      body: form,
    });
    const document = await created.json();
    assert.equal(created.status, 201, JSON.stringify(document));
    assert.equal(document.status, 'sent');
    assert.equal(document.original_sha256, sha256(pdf));

    // The signer signs on a phone from the emailed link.
    const link = await linkFor(signer.email);
    await signOnPhone(browser, link, PHONE, 'api-signer');

    // The program follows it to completion and downloads the sealed PDF.
    let state;
    const deadline = Date.now() + 60_000;
    do {
      await new Promise((r) => setTimeout(r, 500));
      state = await (await fetch(`${server.url}/api/v1/documents/${document.id}`, { headers: auth })).json();
    } while (!state.sealed_sha256 && Date.now() < deadline);
    assert.equal(state.status, 'completed');
    assert.equal(state.recipients[0].status, 'signed');
    const sealed = Buffer.from(await (await fetch(`${server.url}/api/v1/documents/${document.id}/sealed.pdf`, { headers: auth })).arrayBuffer());
    assert.equal(sha256(sealed), state.sealed_sha256);
    assert.ok(sealed.subarray(0, pdf.length).equals(pdf), 'the sealed PDF starts with the uploaded bytes');

    // The sender's timeline names the key as the actor of what the program did.
    await page.goto(`${server.url}/documents/${document.id}`);
    await hydrated(page);
    await page.getByTestId('timeline').getByText("via API key 'CRM'").first().waitFor();
    await screenshot(page, 'api-2-timeline');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.stop();
  }
});
