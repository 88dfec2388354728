// What a person does on first run: set up the owner, sign out, mistype the password, sign in.
// Once on a desktop, once on a phone with touch.

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

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: set up, sign out, fail to sign in, sign in`, async () => {
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, device);
    try {
      // A fresh instance sends the first visitor to setup.
      await page.goto(server.url + '/');
      await page.waitForURL('**/setup');
      await hydrated(page);
      await assert.doesNotReject(page.getByRole('heading', { name: 'Welcome to Attesta' }).waitFor());
      await screenshot(page, `${device.name}-1-setup`);

      // Every input has a label a screen reader announces.
      await page.getByLabel('Your name').fill(OWNER.name);
      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password', { exact: true }).fill(OWNER.password);
      await page.getByLabel('Repeat the password').fill(OWNER.password);
      await press(page.getByRole('button', { name: 'Create owner account' }), device);

      await page.waitForURL(server.url + '/');
      await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
      await page.getByTestId('documents-empty').waitFor();
      assert.match(await page.getByTestId('signed-in-user').innerText(), /Ada Lovelace/);
      await screenshot(page, `${device.name}-2-home`);

      // Sign out.
      await press(page.getByRole('button', { name: 'Sign out' }), device);
      await page.waitForURL('**/login');
      await page.getByRole('heading', { name: 'Sign in to Attesta' }).waitFor();
      assert.equal(await page.getByTestId('signed-in-user').count(), 0);

      // A wrong password shows a clear message and keeps the person on the page.
      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill('not my password at all');
      await press(page.getByRole('button', { name: 'Sign in' }), device);
      const alert = page.getByRole('alert').filter({ hasText: 'Wrong email or password' });
      await alert.waitFor();
      assert.ok(page.url().endsWith('/login'));
      await screenshot(page, `${device.name}-3-login-failed`);

      // The right one gets them in.
      await page.getByLabel('Password').fill(OWNER.password);
      await press(page.getByRole('button', { name: 'Sign in' }), device);
      await page.waitForURL(server.url + '/');
      await page.getByRole('heading', { name: 'Documents', exact: true }).waitFor();
      assert.match(await page.getByTestId('signed-in-user').innerText(), /Ada Lovelace/);

      // A reload keeps the session (it lives on the server, behind an httpOnly cookie).
      await page.reload();
      await hydrated(page);
      assert.match(await page.getByTestId('signed-in-user').innerText(), /Ada Lovelace/);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'attesta_session');
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie is readable by scripts');

      // The browser logs the refused sign-in (401) itself; that one is expected, nothing else is.
      const unexpected = problems.filter((p) => !p.includes('status of 401'));
      assert.deepEqual(unexpected, [], 'no other console errors or CSP violations');
      assert.equal(problems.length, 1, 'exactly one refused request: the wrong password');
    } finally {
      await context.close();
      assert.equal(await server.stop(), 0, 'the server stops cleanly on SIGTERM');
    }
  });
}

test('keyboard: the first Tab reaches the skip link, which moves focus to the content', async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    await page.goto(server.url + '/setup');
    await hydrated(page);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    assert.equal(focused, 'Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    const next = await page.evaluate(() => document.activeElement?.getAttribute('name'));
    assert.equal(next, 'name', 'the first field of the form comes next');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.stop();
  }
});
