// The signer's page as a person on a small phone meets it, with every kind of field a sender
// places (text, checkbox, initials, signature, date), sized as on a real form: each field's label
// readable, type at least 16 px (phones zoom into smaller inputs), every target at least 44 px,
// and the keyboard focus kept with the task after each step. Also on a larger phone and a
// desktop, with screenshots of each to look at. And the page serves its client files with cache
// headers: the content-hashed ones for a year, the page itself never.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../support/server.mjs';
import { makePdf } from '../support/pdf.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';
import { MAILDEV, maildev, linkFor } from '../support/ceremony.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };
const PHONE_360 = { ...PHONE, name: 'phone-360', viewport: { width: 360, height: 740 } };
const LABELS = {
  text: 'Company name',
  checkbox: 'I have read the terms and agree to them',
  initials: 'Initials',
  signature: 'Signature',
};

let browser;
before(async () => {
  browser = await launch();
  if (MAILDEV) await maildev('/email/all', { method: 'DELETE' });
});
after(async () => {
  await browser?.close();
});

/** The owner, signed in on a desktop page, and an API key with the send scope. */
async function ownerWithKey(server, context, page) {
  const r = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(r.status() < 400, `setup: ${r.status()}`);
  await page.goto(server.url + '/settings/api-keys');
  await hydrated(page);
  await page.getByLabel('Name').fill('Tests');
  await page.locator('input[name="scope"][value="send"]').check();
  await page.getByTestId('create-api-key').click();
  return (await page.getByTestId('api-key-secret').innerText()).trim();
}

/** Sends a one-page form to `signer` with one field of every kind, at a real form's sizes. */
async function sendForm(server, key, signer) {
  const pdf = makePdf('Supply agreement', 1);
  const field = (kind, x, y, width, height, label = '') => ({ recipient: signer.email, kind, page: 1, x, y, width, height, label });
  const form = new FormData();
  form.append(
    'document',
    JSON.stringify({
      title: 'Supply agreement',
      signing_order: 'sequential',
      send: true,
      recipients: [{ name: signer.name, email: signer.email, order: 1 }],
      fields: [
        field('text', 72, 620, 180, 18, LABELS.text),
        field('checkbox', 72, 460, 14, 14, LABELS.checkbox),
        field('initials', 500, 40, 40, 22),
        field('signature', 72, 140, 200, 44),
        field('date_signed', 320, 140, 100, 18),
      ],
    }),
  );
  form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'supply.pdf');
  const created = await fetch(`${server.url}/api/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  assert.equal(created.status, 201, await created.text());
}

/** What has the keyboard focus: its id, test id and tag. */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return { id: el?.id || '', testid: el?.dataset?.testid || '', tag: el?.tagName?.toLowerCase() || '' };
  });

async function waitForFocus(page, id, why) {
  try {
    await page.waitForFunction((want) => document.activeElement?.id === want, id, { timeout: 5_000 });
  } catch {
    assert.fail(`${why}: the focus should be on #${id}, it is on ${JSON.stringify(await focused(page))}`);
  }
}

/** Computed font size in px and the bounding box of the first element matching `locator`. */
async function metrics(locator) {
  const size = await locator.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  const box = await locator.boundingBox();
  return { size, box };
}

async function assertReadableTarget(locator, what) {
  const { size, box } = await metrics(locator);
  assert.ok(size >= 16, `${what}: type is ${size}px, at least 16px wanted`);
  assert.ok(box && box.width >= 44 && box.height >= 44, `${what}: target is ${box?.width}x${box?.height}, at least 44x44 wanted`);
}

/** The PDF's fields: each one's touch area covers 44 x 44 px around its centre, its text fits. */
async function assertPageFields(page, device) {
  const fields = page.locator('[data-testid="sign-field"] button');
  const n = await fields.count();
  assert.equal(n, 4, 'text, checkbox, initials and signature are pressable');
  for (let i = 0; i < n; i++) {
    const button = fields.nth(i);
    const kind = await button.evaluate((el) => el.closest('[data-testid="sign-field"]').dataset.kind);
    await button.evaluate((el) => el.scrollIntoView({ block: 'center' }));
    const box = await button.boundingBox();
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    const hits = await page.evaluate(
      ({ cx, cy, kind }) =>
        [[-20, -20], [20, -20], [-20, 20], [20, 20], [0, 0]].map(([dx, dy]) => {
          const at = document.elementFromPoint(cx + dx, cy + dy);
          return at?.closest('[data-testid="sign-field"]')?.dataset?.kind === kind || `${at?.tagName}.${at?.className}`;
        }),
      { cx, cy, kind },
    );
    assert.ok(hits.every((h) => h === true), `${device.name}: the ${kind} field (${box.width}x${box.height}) is a 44px target: ${hits}`);
    // Its words stay inside its box ("Initial" used to spill out).
    const label = button.locator('.sfield__label');
    if (await label.count()) {
      const spill = await label.evaluate((el) => {
        const b = el.getBoundingClientRect();
        const f = el.closest('[data-testid="sign-field"]').getBoundingClientRect();
        return Math.max(f.left - b.left, b.right - f.right, f.top - b.top, b.bottom - f.bottom);
      });
      assert.ok(spill <= 0.5, `${device.name}: the ${kind} field's text spills ${spill}px out of its box`);
    }
  }
}

/** Signs the form on `device` with the keyboard and taps, checking every step. */
async function signForm(link, device, signer) {
  const { context, page, problems } = await openPage(browser, device);
  try {
    await page.goto(link);
    await hydrated(page);
    await page.getByTestId('consent').waitFor();
    // The consent's checkboxes: the whole line is the target.
    await assertReadableTarget(page.locator('.consent .checkbox').first(), `${device.name}: consent line`);
    await press(page.getByTestId('consent-agree'), device);
    await press(page.getByTestId('consent-continue'), device);
    await page.getByTestId('consent').waitFor({ state: 'detached' });
    // The focus goes on to the first field, not to the page.
    await waitForFocus(page, 'fieldpanel-control', `${device.name}: after Continue`);
    await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-pdf-slot="1"][data-rendered="true"]').waitFor({ timeout: 30_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${device.name}: page wider than the screen by ${overflow}px`);
    await assertPageFields(page, device);
    await screenshot(page, `signer-${device.name}-1-start`);

    const seen = new Set();
    for (let step = 0; step < 6 && seen.size < 4; step++) {
      const label = page.getByTestId('panel-label');
      assert.ok(await label.isVisible(), `${device.name}: the field's label is shown`);
      const text = (await label.innerText()).trim();
      const kind = Object.keys(LABELS).find((k) => LABELS[k] === text);
      assert.ok(kind, `${device.name}: the label "${text}" is one of the fields' labels`);
      assert.ok(!seen.has(kind), `${device.name}: each field comes once (again: ${kind})`);
      seen.add(kind);
      assert.ok((await metrics(label)).size >= 16, `${device.name}: the ${kind} label is at least 16px`);
      const control = page.locator('#fieldpanel-control');
      await waitForFocus(page, 'fieldpanel-control', `${device.name}: on the ${kind} field`);
      if (kind === 'text') {
        await assertReadableTarget(control, `${device.name}: text input`);
        await page.keyboard.type('Acme Ltd');
        await screenshot(page, `signer-${device.name}-2-text`);
        await page.keyboard.press('Enter');
      } else if (kind === 'checkbox') {
        await assertReadableTarget(page.locator('.fieldpanel__check'), `${device.name}: checkbox line`);
        await page.keyboard.press('Space');
        assert.ok(await control.isChecked());
        await screenshot(page, `signer-${device.name}-3-checkbox`);
        await press(page.getByTestId('next-field'), device);
      } else {
        await assertReadableTarget(control, `${device.name}: ${kind} button`);
        await page.keyboard.press('Enter');
        await page.getByTestId('sigpad').waitFor();
        await waitForFocus(page, (await page.getByTestId('sigpad-tab-draw').getAttribute('id')) || '', `${device.name}: pad opened`);
        // Typed: the pad proposes the signer's name, or their initials.
        await page.keyboard.press('ArrowRight');
        const typed = page.getByTestId('sigpad-input');
        await typed.waitFor();
        assert.equal(await typed.inputValue(), kind === 'signature' ? signer.name : signer.initials);
        assert.ok((await metrics(typed)).size >= 16, `${device.name}: the typed name is at least 16px`);
        await screenshot(page, `signer-${device.name}-4-${kind}`);
        await press(page.getByTestId('sigpad-adopt'), device);
        await page.locator(`[data-testid="sign-field"][data-kind="${kind}"] img`).waitFor();
      }
    }
    assert.equal(seen.size, 4, `${device.name}: every field was visited`);
    assert.match(await page.getByTestId('progress').innerText(), /^4 of 4$/);
    // All done: the focus waits on Finish.
    await waitForFocus(page, 'signer-finish', `${device.name}: after the last field`);
    await assertReadableTarget(page.getByTestId('finish'), `${device.name}: Finish`);
    await screenshot(page, `signer-${device.name}-5-ready`);
    await press(page.getByTestId('finish'), device);
    await page.getByTestId('sign-finished').waitFor({ timeout: 20_000 });
    await waitForFocus(page, 'signer-finished', `${device.name}: after Finish`);
    // When and how the signed copy comes.
    const note = await page.getByTestId('copy-note').innerText();
    assert.match(note, new RegExp(`email to ${signer.email[0]}\\*\\*\\*@example\\.com as soon as everyone has signed`), note);
    await screenshot(page, `signer-${device.name}-6-done`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}

const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

test('every field of a form is readable, large enough and reached by keyboard on phones and a desktop', { skip }, async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    const key = await ownerWithKey(server, context, page);
    const signers = [
      [PHONE_360, { name: 'Hedy Lamarr', initials: 'HL', email: 'hedy.form@example.com' }],
      [PHONE, { name: 'Katherine Johnson', initials: 'KJ', email: 'katherine.form@example.com' }],
      [DESKTOP, { name: 'Grace Hopper', initials: 'GH', email: 'grace.form@example.com' }],
    ];
    for (const [device, signer] of signers) {
      await sendForm(server, key, signer);
      await signForm(await linkFor(signer.email), device, signer);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});

test('the hashed client files are cached for a year, the pages never', async () => {
  const server = await startServer();
  const { context, page } = await openPage(browser, DESKTOP);
  try {
    const response = await page.goto(server.url + '/login');
    await hydrated(page);
    assert.equal(response.headers()['cache-control'], 'no-store');
    const assets = await page.evaluate(() => [
      ...[...document.querySelectorAll('link[rel="stylesheet"]')].map((l) => l.getAttribute('href')),
      ...[...document.querySelectorAll('link[rel="modulepreload"], link[rel="preload"]')].map((l) => l.getAttribute('href')),
    ]);
    const hashed = assets.filter((a) => /^\/pkg\/attesta\.[A-Za-z0-9_-]{8,}\.(css|js|wasm)$/.test(a));
    assert.ok(hashed.some((a) => a.endsWith('.css')) && hashed.some((a) => a.endsWith('.js')), `hashed names: ${assets}`);
    for (const asset of hashed) {
      const r = await context.request.get(server.url + asset);
      assert.equal(r.status(), 200, asset);
      assert.equal(r.headers()['cache-control'], 'public, max-age=31536000, immutable', asset);
    }
    const viewer = await context.request.get(server.url + '/viewer.js');
    assert.equal(viewer.headers()['cache-control'], 'no-cache', 'a file whose name does not change is revalidated');
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});
