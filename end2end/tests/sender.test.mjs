// The sender's pages, as a sender uses them: the editor's recipient cards (labelled buttons, moves
// disabled at the ends, Remove in reach on a 360 px phone), fields added by pressing the palette
// (each on its own free spot in view), the warning before sending fields that overlap; then the
// document page: one status everywhere that follows the signers and a void without a reload,
// renaming a draft, and the sections (tabs on a phone, a page jump for long contracts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { call, ownerWithDocument as signedInWithDocument, upload } from '../support/owner.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot } from '../support/browser.mjs';
import { MAILDEV, linkFor } from '../support/ceremony.mjs';

const SMALL_PHONE = { ...PHONE, name: 'phone-360', viewport: { width: 360, height: 740 } };
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const run = randomBytes(4).toString('hex');
const email = (who) => `${who}.${run}@example.com`;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function saveRecipients(server, context, id, signers) {
  const { revision } = await call(context.request, server, '/api/draft', { id });
  const recipients = signers.map((s, i) => ({ id: `r${i + 1}`, name: s.name, email: s.email, otp: false }));
  await call(context.request, server, '/api/draft/save', { id, revision, draft: { order: 'parallel', recipients, fields: [], message: '' } });
}

const boxesOverlap = (a, b) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

test('the editor: labelled recipient moves, fields pressed in land apart, overlaps are confirmed before sending', { skip }, async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    const { id } = await signedInWithDocument(server, context, 'Editor check', 3);
    const signers = [
      { name: 'Ivy', email: email('ivy') },
      { name: 'Jon', email: email('jon') },
      { name: 'Kim', email: email('kim') },
    ];
    await saveRecipients(server, context, id, signers);
    await page.goto(`${server.url}/documents/${id}/prepare`);
    await hydrated(page);
    await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });

    // Recipient cards: arrows as labels, disabled at the ends, Remove beside them.
    const cards = page.getByTestId('recipient');
    assert.equal(await cards.count(), 3);
    assert.equal((await cards.nth(0).getByTestId('recipient-down').innerText()).trim(), '↓');
    assert.ok(await cards.nth(0).getByTestId('recipient-up').isDisabled());
    assert.ok(await cards.nth(1).getByTestId('recipient-down').isEnabled());
    assert.ok(await cards.nth(2).getByTestId('recipient-down').isDisabled());
    assert.equal(await cards.nth(2).getByTestId('recipient-down').getAttribute('aria-label'), 'Move recipient 3 down');
    await cards.nth(0).getByTestId('recipient-down').click();
    assert.equal(await cards.nth(1).getByTestId('recipient-name').inputValue(), 'Ivy');
    assert.ok(await cards.nth(0).getByTestId('recipient-up').isDisabled());

    // Fields added by keyboard: focus a palette button and press Enter, several times.
    const placed = page.getByTestId('placed-field');
    for (const kind of ['signature', 'date_signed', 'text', 'initials', 'checkbox', 'signature']) {
      await page.getByTestId(`palette-${kind}`).focus();
      await page.keyboard.press('Enter');
    }
    // The cards now read Jon, Ivy, Kim; Ivy (the first loaded, still active) has six fields.
    await page.getByTestId('active-recipient').selectOption({ index: 0 });
    await page.getByTestId('palette-signature').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('active-recipient').selectOption({ index: 2 });
    await page.getByTestId('palette-signature').focus();
    await page.keyboard.press('Enter');
    assert.equal(await placed.count(), 8);
    const boxes = await placed.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) assert.ok(!boxesOverlap(boxes[i], boxes[j]), `fields ${i} and ${j} overlap`);
      // Each in view: the sender sees what they added.
      assert.ok(boxes[i].y >= 0 && boxes[i].y + boxes[i].height <= 800, `field ${i} is out of view: ${JSON.stringify(boxes[i])}`);
    }
    assert.equal(await page.getByTestId('overlaps').count(), 0);
    await screenshot(page, 'sender-editor-1-pressed');

    // Put the date on the first signature (arrow keys, 10 pt a press), as a careless sender would.
    const sig = await placed.nth(0).boundingBox();
    const date = placed.nth(1);
    const dateBox = await date.boundingBox();
    await date.focus();
    const pageBox = await page.locator('[data-page-box="1"]').boundingBox();
    const ptPerPx = 612 / pageBox.width;
    const dx = Math.round(((sig.x - dateBox.x) * ptPerPx) / 10);
    const dy = Math.round(((sig.y - dateBox.y) * ptPerPx) / 10);
    for (let i = 0; i < Math.abs(dx); i++) await page.keyboard.press(dx < 0 ? 'Shift+ArrowLeft' : 'Shift+ArrowRight');
    for (let i = 0; i < Math.abs(dy); i++) await page.keyboard.press(dy < 0 ? 'Shift+ArrowUp' : 'Shift+ArrowDown');
    const warning = page.getByTestId('overlaps');
    await warning.waitFor();
    assert.match(await warning.innerText(), /“Date signed” for Ivy overlaps “Signature” for Ivy on page 1/);
    await page.getByTestId('save-state').getByText('All changes saved').waitFor({ timeout: 10_000 });

    // Sending asks first; keeping editing sends nothing.
    await page.getByTestId('send').click();
    await page.getByTestId('overlaps-send').waitFor();
    await screenshot(page, 'sender-editor-2-overlap-confirm');
    await page.getByTestId('overlaps-keep').click();
    assert.match(page.url(), /\/prepare$/);
    // Without the overlap (the date deleted), the warning goes; sending then goes straight through.
    await date.focus();
    await page.keyboard.press('Delete');
    await warning.waitFor({ state: 'detached' });
    await page.getByTestId('send').click();
    await page.waitForURL(`**/documents/${id}`);
    await hydrated(page);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});

test('on a 360 px phone the recipient card keeps Remove in reach', async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, SMALL_PHONE);
  try {
    const { id } = await signedInWithDocument(server, context, 'Phone editor', 1);
    await saveRecipients(server, context, id, [
      { name: 'Lea With A Very Long Name Indeed', email: email('lea') },
      { name: 'Max', email: email('max') },
    ]);
    await page.goto(`${server.url}/documents/${id}/prepare`);
    await hydrated(page);
    const card = page.getByTestId('recipient').nth(1);
    await card.scrollIntoViewIfNeeded();
    const remove = await card.getByTestId('recipient-remove').boundingBox();
    const box = await card.boundingBox();
    assert.ok(remove.x >= box.x && remove.x + remove.width <= box.x + box.width + 0.5, 'Remove is inside its card');
    assert.ok(remove.x + remove.width <= 360, 'Remove is on screen');
    assert.ok(remove.height >= 44 && remove.width >= 44, 'Remove is a 44 px target');
    await screenshot(page, 'sender-editor-phone-360');
    await card.getByTestId('recipient-remove').tap();
    assert.equal(await page.getByTestId('recipient').count(), 1);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});

test('the document page: one status that follows signing and a void, rename, sections and page jump', { skip }, async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, DESKTOP);
  try {
    const { id, sha } = await signedInWithDocument(server, context, 'Live status', 2);
    const signers = [
      { name: 'Nia', email: email('nia') },
      { name: 'Oli', email: email('oli') },
    ];
    const { revision } = await call(context.request, server, '/api/draft', { id });
    const recipients = signers.map((s, i) => ({ id: `r${i + 1}`, name: s.name, email: s.email, otp: false }));
    const fields = signers.map((_, i) => ({
      id: `s${i + 1}`, recipient: `r${i + 1}`, kind: 'signature', page: 1, rect: { x: 72, y: 400 - 80 * i, width: 180, height: 48 }, required: true, label: '',
    }));
    const rev = await call(context.request, server, '/api/draft/save', { id, revision, draft: { order: 'parallel', recipients, fields, message: '' } });
    await call(context.request, server, '/api/draft/send', { id, revision: rev });

    await page.goto(`${server.url}/documents/${id}`);
    await hydrated(page);
    const badge = page.getByTestId('document-status');
    assert.equal((await badge.innerText()).trim(), 'Out for signature');

    // Nia signs elsewhere: the badge at the top follows without a reload.
    const token = (await linkFor(signers[0].email)).split('/sign/')[1];
    const signer = await browser.newContext();
    const post = (what, body) => call(signer.request, server, `/api/sign/${what}`, { token, ...body });
    await post('open', {});
    await post('viewed', {});
    await post('consent', { geo: null });
    await post('submit', {
      submission: { values: { s1: { type: 'applied' } }, signature_png: PNG_1X1, signature_method: 'drawn', initials_png: null, initials_method: null, client_sha256: sha },
    });
    await signer.close();
    // Oli opens the link: viewed, not signed.
    const oli = (await linkFor(signers[1].email)).split('/sign/')[1];
    const oliContext = await browser.newContext();
    await call(oliContext.request, server, '/api/sign/open', { token: oli });
    await call(oliContext.request, server, '/api/sign/viewed', { token: oli });
    await oliContext.close();
    await page.waitForFunction(() => document.querySelector('[data-testid="document-status"]')?.innerText.includes('Partially signed (1 of 2)'), null, { timeout: 15_000 });
    await page.locator('[data-testid="signing-recipient"][data-status="viewed"]').waitFor({ timeout: 15_000 });

    // Void from the page: badge, panel and recipients agree at once.
    await page.getByTestId('void').click();
    await page.getByTestId('void-reason').fill('Wrong amount');
    await page.getByTestId('void-confirm').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="document-status"]')?.innerText.trim() === 'Voided', null, { timeout: 10_000 });
    await page.locator('[data-testid="signing-panel"][data-status="voided"]').waitFor();
    const states = await page.getByTestId('signing-recipient').evaluateAll((els) => els.map((e) => e.dataset.status));
    assert.deepEqual(states, ['signed', 'voided']);
    const labels = await page.locator('[data-testid="signing-recipient"] .badge').allInnerTexts();
    assert.deepEqual(labels, ['Signed', 'Voided before they signed']);
    // The timeline, beside the pages on a desktop, shows the void without scrolling past them.
    const voidedEvent = page.getByTestId('timeline').locator('[data-event="document.voided"]');
    await voidedEvent.waitFor();
    const timelineTop = (await page.getByTestId('timeline').boundingBox()).y;
    assert.ok(timelineTop < 5000, `the timeline starts at ${timelineTop}px`);
    await page.getByTestId('tab-timeline').click();
    assert.ok((await page.getByTestId('timeline').boundingBox()).y < 800, 'the Timeline tab brings it into view');
    await screenshot(page, 'sender-document-1-voided');

    // Rename a draft: a blank title is refused, a real one shows at once and is in the timeline.
    const other = await upload(server, context, 'scan_0042_final', 12);
    await page.goto(`${server.url}/documents/${other.id}`);
    await hydrated(page);
    await page.getByTestId('rename').click();
    await page.getByTestId('rename-input').fill('   ');
    await page.getByTestId('rename-save').click();
    await page.locator('.rename__error').getByText(/title cannot be empty/i).waitFor();
    await page.getByTestId('rename-input').fill('Master Services Agreement');
    await page.getByTestId('rename-save').click();
    await page.getByTestId('document-title').getByText('Master Services Agreement').waitFor();
    await page.getByTestId('timeline').locator('[data-event="document.renamed"]').waitFor();
    assert.equal(await page.title(), 'Master Services Agreement · Attesta');
    await screenshot(page, 'sender-document-2-renamed');
    assert.deepEqual(problems.filter((p) => !p.includes('status of 422')), []);
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});

test('on a 360 px phone the document page shows one section at a time and jumps to a page', async () => {
  const server = await startServer();
  const { context, page, problems } = await openPage(browser, SMALL_PHONE);
  try {
    const { id } = await signedInWithDocument(server, context, 'Long contract', 28);
    await page.goto(`${server.url}/documents/${id}`);
    await hydrated(page);
    // Signing first; the others a tap away, the bar staying at the top.
    await page.getByTestId('signing-panel').waitFor();
    // Every tab's label is whole on the screen: the bar never hides one behind a sideways scroll.
    const hidden = await page.locator('.doc-tabs').evaluate((bar) => bar.scrollWidth - bar.clientWidth);
    assert.ok(hidden <= 1, `the section bar hides ${hidden}px of its tabs`);
    assert.ok(await page.getByTestId('timeline').isHidden());
    await page.getByTestId('tab-timeline').tap();
    await page.getByTestId('timeline').waitFor();
    assert.ok(await page.getByTestId('signing-panel').isHidden());
    await screenshot(page, 'sender-document-phone-timeline');
    await page.getByTestId('tab-evidence').tap();
    await page.getByTestId('verify').waitFor();
    await page.getByTestId('tab-pages').tap();
    await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
    await page.locator('#page-jump-input').fill('20');
    await page.locator('#page-jump-input').press('Enter');
    await page.waitForFunction(() => {
      const box = document.querySelector('attesta-pdf [data-page="20"]')?.getBoundingClientRect();
      return box && box.top < window.innerHeight && box.bottom > 0;
    }, null, { timeout: 10_000 });
    const bar = await page.locator('.doc-tabs').boundingBox();
    assert.ok(bar.y >= -1 && bar.y < 5, `the section bar stays at the top (${bar.y})`);
    await screenshot(page, 'sender-document-phone-page-20');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${overflow}px wider than the screen`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    assert.equal(await server.stop(), 0);
  }
});
