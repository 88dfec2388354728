// The signer's side of a ceremony, shared by the browser tests: links and codes read back from
// the real SMTP server (MailDev), and signing on a phone with a finger (CDP touch events).

import assert from 'node:assert/strict';
import { openPage, hydrated, screenshot } from './browser.mjs';

export const MAILDEV = process.env.ATTESTA_TEST_MAILDEV_URL;

export async function maildev(path, init) {
  const r = await fetch(MAILDEV + path, init);
  if (!r.ok) throw new Error(`MailDev ${path}: ${r.status}`);
  return r.status === 200 ? r.json() : null;
}

/** Waits for a signing (or approval) request mailed to `email` and returns its link. */
export async function linkFor(email, { after = 0, timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const mails = await maildev('/email');
    const found = mails
      .filter((m) => m.to.some((t) => t.address === email) && /sign|approv|acknowledge/i.test(m.subject))
      .map((m) => (m.text || '').match(/https?:\/\/[^\s]+\/(?:sign|approvals|documents\/acknowledge)\/[A-Za-z0-9_-]{43}/))
      .filter(Boolean);
    if (found.length > after) return found[found.length - 1][0];
    if (Date.now() > deadline) throw new Error(`no signing link mailed to ${email}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function mailsTo(email) {
  return (await maildev('/email')).filter((m) => m.to.some((t) => t.address === email));
}

/** Draws a signature stroke with real touch events (CDP), inside the pad's canvas. */
export async function drawWithTouch(page, context) {
  const canvas = page.getByTestId('sigpad-canvas');
  await canvas.waitFor();
  const box = await canvas.boundingBox();
  const cdp = await context.newCDPSession(page);
  const point = (fx, fy) => ({ x: box.x + box.width * fx, y: box.y + box.height * fy, id: 1, radiusX: 2, radiusY: 2, force: 0.5 });
  const stroke = [];
  for (let i = 0; i <= 24; i++) stroke.push(point(0.1 + 0.8 * (i / 24), 0.5 + 0.25 * Math.sin(i / 3)));
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [stroke[0]] });
  for (const p of stroke.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  // A second stroke: the dot of an i.
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point(0.5, 0.2)] });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [point(0.52, 0.22)] });
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
}

/** The newest one-time code mailed to `email` (written `123 456`). */
export async function codeFor(email) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const mail = (await mailsTo(email)).filter((m) => /code/i.test(m.subject)).pop();
    const code = mail && (mail.text || '').match(/\b(\d{3}) (\d{3})\b/);
    if (code) return code[1] + code[2];
    if (Date.now() > deadline) throw new Error(`no code mailed to ${email}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A signer opens the link on a phone and signs every field, drawing with a finger. */
export async function signOnPhone(browser, link, device, label, { otpEmail } = {}) {
  const { context, page, problems } = await openPage(browser, device);
  try {
    await page.goto(link);
    await hydrated(page);
    await page.getByTestId('consent').waitFor();
    // Nothing can be filled before consent.
    assert.ok(await page.getByTestId('finish').isDisabled());
    await page.getByTestId('consent-agree').tap();
    await page.getByTestId('consent-continue').tap();
    await page.getByTestId('consent').waitFor({ state: 'detached' });
    if (otpEmail) {
      // The sender asked for a code: fields stay locked until the emailed code is entered.
      await page.getByTestId('code-check').waitFor();
      assert.ok(await page.getByTestId('next-field').isDisabled());
      await page.getByTestId('code-send').tap();
      await page.getByTestId('code-note').getByText('Code sent').waitFor();
      await page.getByTestId('code-input').fill('000000');
      await page.getByTestId('code-verify').tap();
      await page.getByTestId('code-note').getByText('tries left').waitFor();
      // The browser logs the refused code's 422: expected here, and only this one.
      const refused = problems.findIndex((p) => p.includes('status of 422'));
      assert.ok(refused >= 0, 'the wrong code was refused by the server');
      problems.splice(refused, 1);
      await page.getByTestId('code-input').fill(await codeFor(otpEmail));
      await page.getByTestId('code-verify').tap();
      await page.getByTestId('code-check').waitFor({ state: 'detached' });
    }
    await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-pdf-slot="1"][data-rendered="true"]').waitFor({ timeout: 30_000 });
    const progress = page.getByTestId('progress');
    assert.match(await progress.innerText(), /^0 of 1$/);
    // The page fits the phone's width: nothing to scroll sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page wider than the screen by ${overflow}px`);

    await page.getByTestId('next-field').tap();
    const field = page.locator('[data-testid="sign-field"][data-kind="signature"] button');
    await field.tap();
    // The sheet takes the focus, for keyboard and screen-reader users.
    await page.waitForFunction(() => document.activeElement?.dataset?.testid === 'sigpad-tab-draw', null, { timeout: 5_000 });
    await drawWithTouch(page, context);
    await screenshot(page, `${label}-1-drawn`);
    await page.getByTestId('sigpad-adopt').tap();
    await page.locator('[data-testid="sign-field"][data-kind="signature"] img').waitFor();
    assert.match(await progress.innerText(), /^1 of 1$/);
    await screenshot(page, `${label}-2-ready`);
    await page.getByTestId('finish').tap();
    await page.getByTestId('sign-finished').waitFor({ timeout: 20_000 });
    await screenshot(page, `${label}-3-done`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}
