// Legal holds and the trust dashboard, as an admin uses them: on a document's page the admin
// places a legal hold with a reason, sees it stated and listed on Settings › Trust (loaded
// directly), then releases it with a reason, and the document's timeline shows both acts. Once
// on a desktop, once on a phone; screenshots of each step.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';
import { makePdf } from '../support/pdf.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function ownerWithDocument(context, server) {
  const setup = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(setup.status() < 400, `setup: ${setup.status()}`);
  const buffer = makePdf('Supply Agreement', 2);
  const r = await context.request.post(`${server.url}/api/documents`, {
    multipart: {
      sha256: createHash('sha256').update(buffer).digest('hex'),
      file: { name: 'Supply Agreement.pdf', mimeType: 'application/pdf', buffer },
    },
    headers: { origin: server.url },
  });
  assert.equal(r.status(), 201, await r.text());
  return (await r.json()).id;
}

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: an admin places a legal hold, sees it on the trust dashboard and releases it`, async () => {
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, device);
    try {
      const id = await ownerWithDocument(context, server);
      await page.goto(`${server.url}/documents/${id}`);
      await hydrated(page);
      // On a phone the evidence section is one of the tabs.
      const tab = page.getByTestId('tab-evidence');
      if (await tab.isVisible()) await press(tab, device);
      const panel = page.getByTestId('legal-hold');
      await panel.scrollIntoViewIfNeeded();
      assert.equal(await panel.getByTestId('hold-status').getAttribute('data-held'), 'false');

      await panel.getByTestId('hold-reason').fill('Case 2026-114, Smith v. Acme');
      await press(panel.getByTestId('place-hold'), device);
      await panel.locator('[data-testid="hold-status"][data-held="true"]').waitFor();
      assert.match(await panel.innerText(), /Case 2026-114, Smith v\. Acme/);
      assert.match(await panel.innerText(), /placed by Ada Lovelace/);
      await screenshot(page, `legal-hold-placed-${device.name}`);

      // The dashboard, loaded directly: the hold is listed and the figures are there.
      await page.goto(`${server.url}/settings/trust`);
      await hydrated(page);
      const hold = page.getByTestId('trust-hold');
      await hold.first().waitFor();
      assert.equal(await hold.count(), 1);
      assert.match(await hold.innerText(), /Supply Agreement/);
      assert.match(await page.getByTestId('trust-policy').innerText(), /Personal data in audit events\s+90 days/);
      const figures = await page.getByTestId('trust-figure').allInnerTexts();
      assert.ok(figures.some((f) => /Log size/.test(f) && /\d+ events/.test(f)), figures.join(' | '));
      await screenshot(page, `trust-dashboard-${device.name}`);

      // Back to the document (the link on the dashboard), released with a reason.
      await press(hold.getByRole('link'), device);
      await page.waitForURL(`**/documents/${id}`);
      await hydrated(page);
      if (await tab.isVisible()) await press(tab, device);
      await panel.locator('[data-testid="hold-status"][data-held="true"]').waitFor();
      await panel.getByTestId('hold-reason').fill('Matter settled');
      await press(panel.getByTestId('release-hold'), device);
      await panel.locator('[data-testid="hold-status"][data-held="false"]').waitFor();
      assert.match(await panel.innerText(), /Earlier holds \(1\)/);
      await screenshot(page, `legal-hold-released-${device.name}`);

      // Both acts are in the document's evidence.
      const events = await context.request.get(`${server.url}/documents/${id}/evidence.json`);
      const types = (await events.json()).events.map((e) => e.record.type);
      assert.ok(types.includes('document.legal_hold_placed') && types.includes('document.legal_hold_released'), types.join(', '));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
