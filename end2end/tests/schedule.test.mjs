// Scheduled sending, as a sender does it: "Schedule…" in the editor picks a day and time on the
// sender's own clock (the browser's time zone, named beside the field), the document page then
// says when it goes and offers "Cancel schedule" and "Send now", the editor opened directly is
// locked meanwhile, and the "Scheduled" list shows it. The send at the scheduled minute is the
// API suite's (server/tests/api/scheduling.rs), which moves the clock instead of waiting.

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
  test(`scheduling a send on ${device.name}: picked on the sender's clock, locked, cancelled, then sent now`, { skip }, async () => {
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, { ...device, timezoneId: 'Europe/Paris' });
    try {
      const bob = { name: 'Bob', email: `bob.${device.name}.${run}@example.com` };
      const { id } = await ownerWithDocument(server, context, `Board minutes ${device.name}`, 2);
      await saveSigners(server, context, id, [bob]);

      await page.goto(`${server.url}/documents/${id}/prepare`);
      await hydrated(page);
      await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
      await press(page.getByTestId('schedule'), device);
      const form = page.getByTestId('schedule-form');
      await form.waitFor();
      // The zone is the browser's, named so nobody wonders which 09:00; tomorrow 09:00 is offered.
      assert.equal((await page.getByTestId('schedule-zone').textContent()).trim(), 'Europe/Paris time');
      const offered = await page.getByTestId('schedule-at').inputValue();
      assert.match(offered, /^\d{4}-\d{2}-\d{2}T09:00$/);
      await screenshot(page, `schedule-form-${device.name}`);

      // A time in the past is caught by the field itself (its minimum is now): nothing is sent.
      await page.getByTestId('schedule-at').fill('2020-01-06T09:00');
      await press(page.getByTestId('schedule-confirm'), device);
      assert.equal(await page.getByTestId('schedule-at').evaluate((e) => e.validity.rangeUnderflow), true);
      assert.equal(page.url(), `${server.url}/documents/${id}/prepare`);

      // The day after tomorrow at 10:30, Paris time.
      const day = new Date(Date.now() + 2 * 24 * 3600 * 1000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
      await page.getByTestId('schedule-at').fill(`${day}T10:30`);
      await press(page.getByTestId('schedule-confirm'), device);
      await page.waitForURL(`${server.url}/documents/${id}`);
      const notice = page.getByTestId('scheduled');
      await notice.waitFor();
      const when = (await page.getByTestId('scheduled-at').textContent()).trim();
      assert.ok(when.endsWith(', 10:30 (Europe/Paris)'), when);
      await screenshot(page, `schedule-document-${device.name}`);

      // The editor, loaded directly, is locked; the Scheduled list, loaded directly, shows it.
      await page.goto(`${server.url}/documents/${id}/prepare`);
      await hydrated(page);
      await page.getByTestId('prepare-scheduled').waitFor();
      assert.equal(await page.getByTestId('prepare').count(), 0, 'no editor while scheduled');
      await screenshot(page, `schedule-locked-${device.name}`);
      await page.goto(`${server.url}/?status=scheduled`);
      await hydrated(page);
      const row = page.getByTestId('row-scheduled');
      assert.equal(await row.count(), 1);
      assert.ok((await row.textContent()).includes('10:30 (Europe/Paris)'));
      await screenshot(page, `schedule-list-${device.name}`);

      // Cancelled from the locked editor: the editor is back.
      await page.goto(`${server.url}/documents/${id}/prepare`);
      await hydrated(page);
      await press(page.getByTestId('schedule-cancel'), device);
      await page.getByTestId('prepare').waitFor({ timeout: 30_000 });

      // Scheduled again, then sent at once from the document page: Bob gets his link now.
      await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
      await press(page.getByTestId('schedule'), device);
      await page.getByTestId('schedule-at').fill(`${day}T10:30`);
      await press(page.getByTestId('schedule-confirm'), device);
      await page.waitForURL(`${server.url}/documents/${id}`);
      await press(page.getByTestId('schedule-send-now'), device);
      await page.locator('[data-testid="signing-panel"][data-status="sent"]').waitFor({ timeout: 30_000 });
      assert.ok(await linkFor(bob.email), 'the signing request went out');
      await screenshot(page, `schedule-sent-${device.name}`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
