// An approval chain as people live it: the sender (desktop) makes the first recipient an
// approver; the approver, on a phone, opens the approval link from the mail, consents and
// approves without any field; then the signer's link goes out, and the document page shows the
// approval. The direct load of a dead approval link shows the general "not valid" page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';
import { MAILDEV, linkFor } from '../support/ceremony.mjs';
import { call, ownerWithDocument } from '../support/owner.mjs';

const run = randomBytes(4).toString('hex');
const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('an approver approves on a phone before the signer is asked', { skip }, async () => {
  const server = await startServer();
  const sender = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  try {
    const ann = { name: 'Ann', email: `ann.${run}@example.com` };
    const bob = { name: 'Bob', email: `bob.approval.${run}@example.com` };
    const { id } = await ownerWithDocument(server, sender.context, 'Budget 2027', 2);
    const { revision } = await call(sender.context.request, server, '/api/draft', { id });
    const draft = {
      order: 'sequential',
      recipients: [
        { id: 'r1', name: ann.name, email: ann.email, otp: false, role: 'approver' },
        { id: 'r2', name: bob.name, email: bob.email, otp: false },
      ],
      fields: [{ id: 's2', recipient: 'r2', kind: 'signature', page: 1, rect: { x: 72, y: 100, width: 180, height: 48 }, required: true, label: '' }],
      message: 'Please approve the budget.',
    };
    const saved = await call(sender.context.request, server, '/api/draft/save', { id, revision, draft });
    await call(sender.context.request, server, '/api/draft/send', { id, revision: saved });

    const link = await linkFor(ann.email);
    assert.match(link, /\/approvals\//);
    const page = phone.page;
    await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await hydrated(page);
    await page.getByTestId('consent').waitFor();
    await screenshot(page, 'approval-consent-phone');
    await press(page.getByTestId('consent-agree'), PHONE);
    await press(page.getByTestId('consent-continue'), PHONE);
    await page.getByTestId('approve-hint').waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid="finish"]')?.disabled, null, { timeout: 30_000 });
    assert.equal((await page.getByTestId('finish').textContent()).trim(), 'Approve');
    assert.equal(await page.getByTestId('progress').isVisible(), false, 'no field count for an approver');
    await screenshot(page, 'approval-ready-phone');
    await press(page.getByTestId('finish'), PHONE);
    await page.locator('[data-testid="sign-finished"][data-outcome="approved"]').waitFor();
    await screenshot(page, 'approval-done-phone');

    // Then Bob is asked; the sender's page shows Ann's approval.
    assert.ok(await linkFor(bob.email), 'the signer is asked after the approval');
    await sender.page.goto(`${server.url}/documents/${id}`);
    await hydrated(sender.page);
    const first = sender.page.getByTestId('signing-recipient').first();
    await first.waitFor();
    assert.match(await first.textContent(), /Approved/);
    await screenshot(sender.page, 'approval-document-desktop');

    // A dead approval link, loaded directly, says so in general words.
    await page.goto(`${server.url}/approvals/${'A'.repeat(43)}`);
    await hydrated(page);
    await page.getByTestId('link-unusable').waitFor();
    await screenshot(page, 'approval-dead-link-phone');
    assert.deepEqual(sender.problems, []);
  } finally {
    await sender.context.close();
    await phone.context.close();
    await server.stop();
  }
});

test('a policy acknowledged on a phone: no field, no decline, the sender sees who has', { skip }, async () => {
  const server = await startServer();
  const sender = await openPage(browser, DESKTOP);
  const phone = await openPage(browser, PHONE);
  try {
    const people = ['ivy', 'jon', 'kim'].map((p) => ({ name: p, email: `${p}.ack.${run}@example.com` }));
    const { id } = await ownerWithDocument(server, sender.context, 'Travel policy', 2);
    const { revision } = await call(sender.context.request, server, '/api/draft', { id });
    const recipients = people.map((p, i) => ({ id: `r${i + 1}`, name: p.name, email: p.email, otp: false, role: 'acknowledger' }));
    const saved = await call(sender.context.request, server, '/api/draft/save', {
      id,
      revision,
      draft: { order: 'parallel', recipients, fields: [], message: 'Please read the new travel policy.' },
    });
    await call(sender.context.request, server, '/api/draft/send', { id, revision: saved });

    const link = await linkFor(people[0].email);
    assert.match(link, /\/documents\/acknowledge\//);
    const page = phone.page;
    await page.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await hydrated(page);
    await press(page.getByTestId('consent-agree'), PHONE);
    await press(page.getByTestId('consent-continue'), PHONE);
    await page.getByTestId('approve-hint').waitFor();
    assert.equal(await page.getByTestId('decline').isVisible(), false, 'an acknowledgement cannot be declined');
    await page.waitForFunction(() => !document.querySelector('[data-testid="finish"]')?.disabled, null, { timeout: 30_000 });
    assert.equal((await page.getByTestId('finish').textContent()).trim(), 'I have read and acknowledge');
    await screenshot(page, 'acknowledge-ready-phone');
    await press(page.getByTestId('finish'), PHONE);
    await page.locator('[data-testid="sign-finished"][data-outcome="acknowledged"]').waitFor();
    await screenshot(page, 'acknowledge-done-phone');

    await sender.page.goto(`${server.url}/documents/${id}`);
    await hydrated(sender.page);
    const rows = sender.page.getByTestId('signing-recipient');
    await rows.first().waitFor();
    assert.match(await rows.nth(0).textContent(), /Acknowledged/);
    assert.match(await rows.nth(1).textContent(), /Sent/);
    await screenshot(sender.page, 'acknowledge-document-desktop');
    assert.deepEqual(sender.problems, []);
  } finally {
    await sender.context.close();
    await phone.context.close();
    await server.stop();
  }
});
