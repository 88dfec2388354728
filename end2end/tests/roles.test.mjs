// Roles in the editor: a recipient made "Gets a copy (CC)" loses the code option and the field
// palette, the draft sends with that person in copy, and the document page shows them as such.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';
import { MAILDEV, linkFor } from '../support/ceremony.mjs';
import { ownerWithDocument, saveSigners } from '../support/owner.mjs';

const run = randomBytes(4).toString('hex');
const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

for (const device of [DESKTOP, PHONE]) {
  test(`a recipient in copy on ${device.name}: chosen in the editor, no fields, shown on the document`, { skip }, async () => {
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, device);
    try {
      const bob = { name: 'Bob', email: `bob.roles.${device.name}.${run}@example.com` };
      const { id } = await ownerWithDocument(server, context, `Policy ${device.name}`, 1);
      await saveSigners(server, context, id, [bob]);
      await page.goto(`${server.url}/documents/${id}/prepare`);
      await hydrated(page);
      await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });

      // A second recipient, made a copy: no code option; the palette waits for a signer.
      await press(page.getByTestId('add-recipient'), device);
      const card = page.getByTestId('recipient').nth(1);
      await card.getByTestId('recipient-name').fill('Carol');
      await card.getByTestId('recipient-email').fill(`carol.roles.${device.name}.${run}@example.com`);
      await card.getByTestId('recipient-email').press('Tab');
      await card.getByTestId('recipient-role').selectOption('cc');
      assert.equal(await card.getByTestId('recipient-otp').isVisible(), false, 'no code for a copy');
      assert.equal(await page.getByTestId('palette-signature').isDisabled(), true, 'the palette waits for a signer');
      await page.getByText('All changes saved').waitFor({ timeout: 20_000 });
      await screenshot(page, `roles-editor-${device.name}`);

      await press(page.getByTestId('send'), device);
      await page.waitForURL(`${server.url}/documents/${id}`);
      const rows = page.getByTestId('signing-recipient');
      await rows.nth(1).waitFor();
      assert.match(await rows.nth(1).textContent(), /Gets a copy when complete/);
      assert.ok(await linkFor(bob.email), 'Bob got his link');
      await screenshot(page, `roles-document-${device.name}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
