// Logout everywhere, as a person sees it: two tabs of one browser, a sign-out in one, and the
// other leaves at once (BroadcastChannel); a laptop signed out from a phone's session list
// leaves within five seconds (the session check every open tab makes).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

async function setUp(server, context) {
  const r = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(r.status() < 400, `setup: ${r.status()}`);
}

async function signIn(server, page, device) {
  await page.goto(server.url + '/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await press(page.getByRole('button', { name: 'Sign in', exact: true }), device);
  await page.waitForURL(server.url + '/');
  await page.getByTestId('signed-in-user').waitFor();
}

test('two tabs: signing out in one sends the other to the sign-in page at once', async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    await setUp(server, context);
    await page.goto(server.url + '/');
    await hydrated(page);
    const other = await context.newPage();
    await other.goto(server.url + '/settings/sessions');
    await hydrated(other);
    await other.getByTestId('session-list').waitFor();

    const started = Date.now();
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL('**/login**');
    // The same browser hears it on the BroadcastChannel, well before the next session check.
    await other.waitForURL('**/login?signed_out=1', { timeout: 5_000 });
    const tookMs = Date.now() - started;
    console.log(`  the other tab left ${tookMs} ms after the sign-out`);
    await other.getByText('You were signed out').waitFor();
    assert.equal(await other.getByTestId('signed-in-user').count(), 0);
    await screenshot(other, 'sessions-1-other-tab-signed-out');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('a laptop signed out from the phone leaves within five seconds', async () => {
  const server = await startServer();
  const laptop = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  try {
    // The laptop is signed in by the setup; the phone signs in on the page.
    await setUp(server, laptop.context);
    await laptop.page.goto(server.url + '/');
    await hydrated(laptop.page);
    await laptop.page.getByTestId('signed-in-user').waitFor();
    await signIn(server, phone.page, PHONE);

    await phone.page.goto(server.url + '/settings/sessions');
    await hydrated(phone.page);
    const rows = phone.page.getByTestId('session-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2, 'the laptop and the phone');
    const laptopRow = phone.page.locator('[data-testid="session-row"][data-current="false"]');
    assert.match(await laptopRow.innerText(), /Linux|Chrom/);
    assert.match(await phone.page.locator('[data-testid="session-row"][data-current="true"]').innerText(), /This device/);
    // Nothing overflows sideways on the phone.
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page overflows by ${overflow}px`);
    await screenshot(phone.page, 'sessions-2-phone-list');

    await press(laptopRow.getByTestId('revoke-session'), PHONE);
    await phone.page.waitForFunction(
      () => document.querySelectorAll('[data-testid="session-row"]').length === 1,
    );
    // The laptop's open page notices by its session check, without any action of its own.
    await laptop.page.waitForURL('**/login?signed_out=1', { timeout: 5_000 });
    await laptop.page.getByText('You were signed out').waitFor();
    // The phone is still signed in.
    await phone.page.reload();
    await phone.page.getByTestId('signed-in-user').waitFor();
    assert.deepEqual(laptop.problems, []);
    assert.deepEqual(phone.problems, []);
  } finally {
    await laptop.context.close();
    await phone.context.close();
    await server.stop();
  }
});
