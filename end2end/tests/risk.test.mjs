// The admins' risk review, as a person does it: a real CUAD contract is uploaded, the server's
// scan flags its clauses; the owner (an admin of the instance) opens the Risk page, sees the
// counts by severity, opens a flag, which brings up its document at that flag, acknowledges it
// and dismisses another with a reason. Once on a desktop, once on a phone; /risk is also loaded
// directly, as a bookmark would.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startServer } from '../support/server.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };
const CONTRACT = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'cuad', 'pdf', 'd001.pdf');

/** What the screen shows now (not the whole page): the flag as the person sees it. */
async function viewport(page, name) {
  const dir = resolve(import.meta.dirname, '..', 'test-results');
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Sets up the owner and uploads the contract through the app's endpoint; waits for its scan. */
async function contractScanned(context, server) {
  const setup = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(setup.status() < 400, `setup: ${setup.status()}`);
  const buffer = readFileSync(CONTRACT);
  const r = await context.request.post(`${server.url}/api/documents`, {
    multipart: {
      sha256: createHash('sha256').update(buffer).digest('hex'),
      file: { name: 'Supply Agreement.pdf', mimeType: 'application/pdf', buffer },
    },
    headers: { origin: server.url },
  });
  assert.equal(r.status(), 201, await r.text());
  const { id } = await r.json();
  for (let i = 0; ; i++) {
    const risk = await context.request.post(`${server.url}/api/document_risk`, {
      data: { id },
      headers: { origin: server.url },
    });
    const body = await risk.json();
    if (body.state) return { id, risk: body };
    if (i > 120) throw new Error('never scanned');
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: an admin opens the Risk page, opens a flag and reviews it`, { skip: !existsSync(CONTRACT) && 'the CUAD corpus is not next to the repository' }, async () => {
    assert.ok(existsSync(CONTRACT) || !process.env.CI, 'the CUAD corpus is missing');
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, device);
    try {
      const { risk } = await contractScanned(context, server);
      assert.equal(risk.state, 'analysed');
      assert.ok(risk.flags.length >= 2, `flags: ${risk.flags.length}`);

      // The Risk page, loaded directly.
      await page.goto(server.url + '/risk');
      await hydrated(page);
      const counts = page.getByTestId('risk-counts');
      await counts.waitFor();
      const open = Number(await page.getByTestId('count-critical').locator('.risk-count__n').innerText())
        + Number(await page.getByTestId('count-high').locator('.risk-count__n').innerText())
        + Number(await page.getByTestId('count-medium').locator('.risk-count__n').innerText())
        + Number(await page.getByTestId('count-low').locator('.risk-count__n').innerText());
      assert.equal(open, risk.flags.length, 'the counts add up to the open flags');
      const rows = page.getByTestId('risk-row');
      assert.equal(await rows.count(), risk.flags.length);
      await screenshot(page, `risk-page-${device.name}`);

      // Filter by the first row's severity: only that severity is listed.
      const severity = (await rows.first().locator('.risk-severity').innerText()).toLowerCase();
      await page.getByTestId('filter-severity').selectOption(severity);
      await page.waitForFunction(
        (s) => [...document.querySelectorAll('[data-testid="risk-row"] .risk-severity')].every((b) => b.textContent.toLowerCase() === s),
        severity,
      );

      // Open a flag: its document, at the flag.
      const first = rows.first();
      const flagId = await first.getAttribute('data-flag');
      await press(first.getByTestId('risk-open'), device);
      await page.waitForURL(new RegExp(`/documents/.+#flag-${flagId}$`));
      await hydrated(page);
      const card = page.locator(`#flag-${flagId}`);
      await card.waitFor();
      assert.ok(await card.isVisible(), 'the flag is shown (its section is the current one on a phone)');
      // The card's buttons work once the client runs it.
      await page
        .locator('[data-testid="risk-flag"][data-ready="true"]')
        .first()
        .waitFor()
        .catch((e) => {
          throw new Error(`${e.message}\n${problems.join('\n')}`);
        });
      await card.evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await screenshot(page, `risk-flag-${device.name}`);
      await viewport(page, `risk-flag-view-${device.name}`);
      await press(card.getByTestId('flag-acknowledge'), device);
      await page.locator(`#flag-${flagId}[data-status="acknowledged"]`).waitFor();

      // Dismiss another with a reason.
      const other = page.locator(`[data-testid="risk-flag"][data-status="open"]`).first();
      const otherId = (await other.getAttribute('id')).replace('flag-', '');
      await press(other.getByTestId('flag-dismiss'), device);
      await other.getByTestId('flag-reason').fill('Standard wording for this supplier');
      await press(other.getByTestId('flag-confirm'), device);
      await page.locator(`#flag-${otherId}[data-status="dismissed"]`).waitFor();
      await page.locator(`#flag-${otherId}`).evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await screenshot(page, `risk-reviewed-${device.name}`);
      await viewport(page, `risk-reviewed-view-${device.name}`);

      // The Risk page agrees: one fewer open flag each, the dismissed one listed as such.
      await page.goto(server.url + '/risk');
      await hydrated(page);
      await page.getByTestId('risk-counts').waitFor();
      assert.equal(await page.getByTestId('risk-row').count(), risk.flags.length - 2);
      await page.getByTestId('filter-status').selectOption('dismissed');
      await page.locator(`[data-testid="risk-row"][data-flag="${otherId}"]`).waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
