// What a person does with documents: upload two PDFs and watch their progress, open one, see its
// pages and its audit timeline, and verify its evidence. Once on a desktop, once on a phone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startServer } from '../support/server.mjs';
import { makePdf } from '../support/pdf.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot, press } from '../support/browser.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };
const CUAD = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'cuad', 'pdf');

/** Two real contracts from the CUAD corpus when it is there (else generated PDFs). */
function twoPdfs() {
  if (existsSync(CUAD)) {
    const files = readdirSync(CUAD)
      .filter((f) => f.endsWith('.pdf'))
      .map((f) => ({ f, size: statSync(join(CUAD, f)).size }))
      .filter(({ size }) => size > 150_000 && size < 600_000)
      .slice(0, 2);
    if (files.length === 2) {
      return files.map(({ f }) => ({ name: f, mimeType: 'application/pdf', buffer: readFileSync(join(CUAD, f)) }));
    }
  }
  console.log('CUAD corpus not found next to the repository: using generated PDFs');
  return [
    { name: 'Master_Services_Agreement.pdf', mimeType: 'application/pdf', buffer: makePdf('Master Services Agreement', 3, 400_000) },
    { name: 'NDA_Acme.pdf', mimeType: 'application/pdf', buffer: makePdf('Mutual NDA', 1, 300_000) },
  ];
}

const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

for (const device of [DESKTOP, PHONE]) {
  test(`on a ${device.name}: upload two PDFs, open one, read its pages and timeline, verify`, async () => {
    const server = await startServer();
    const { context, page, problems } = await openPage(browser, device);
    try {
      const setup = await context.request.post(`${server.url}/api/setup`, {
        form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
        headers: { origin: server.url },
        maxRedirects: 0,
      });
      assert.ok(setup.status() < 400, `setup: ${setup.status()}`);

      await page.goto(server.url + '/');
      await hydrated(page);
      await page.getByTestId('documents-empty').waitFor();
      await press(page.getByTestId('upload-link'), device);
      await page.waitForURL('**/documents/upload');
      await page.getByRole('heading', { name: 'Upload documents' }).waitFor();

      // A slow uplink, so the progress of each file can be watched.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 20,
        downloadThroughput: 50 * 1024 * 1024,
        uploadThroughput: 400 * 1024,
      });

      const files = twoPdfs();
      await page.getByTestId('file-input').setInputFiles(files);
      const items = page.getByTestId('upload-item');
      await assert.doesNotReject(items.nth(1).waitFor());
      // The first file shows its upload moving: a percentage under 100.
      await page.getByText(/Uploading… ([0-9]|[1-9][0-9])%/).first().waitFor({ timeout: 20_000 });
      await screenshot(page, `${device.name}-docs-1-uploading`);
      for (let i = 0; i < files.length; i++) {
        await page.locator(`[data-testid="upload-item"]:nth-child(${i + 1})[data-state="done"]`).waitFor({ timeout: 60_000 });
      }
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      // The hash the browser computed is the file's SHA-256.
      const shown = await page.getByTestId('upload-sha256').allInnerTexts();
      assert.deepEqual(shown, files.map((f) => sha256(f.buffer)));
      await screenshot(page, `${device.name}-docs-2-uploaded`);

      // Open the first one.
      await press(items.nth(0).getByTestId('upload-open'), device);
      await page.waitForURL('**/documents/d*');
      await page.getByTestId('document-title').waitFor();
      // On a phone the page shows one section at a time: the tabs at its top choose which.
      const section = async (name) => {
        if (device.isMobile) await press(page.getByTestId(`tab-${name}`), device);
      };
      await section('evidence');
      assert.equal(await page.getByTestId('document-sha256').innerText(), sha256(files[0].buffer));
      assert.match(await page.getByTestId('document-status').innerText(), /Draft/);

      // Its pages render: the viewer reports ready, and the first canvas has ink on it.
      await section('pages');
      const viewer = page.getByTestId('pdf-viewer');
      await page.locator('attesta-pdf[data-state="ready"]').waitFor({ timeout: 30_000 });
      await page.waitForFunction(() => Number(document.querySelector('attesta-pdf')?.dataset.renderedPages || 0) >= 1, null, {
        timeout: 30_000,
      });
      const inked = await viewer.evaluate((el) => {
        const canvas = el.querySelector('canvas');
        if (!canvas) return false;
        const ctx = canvas.getContext('2d');
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let dark = 0;
        for (let i = 0; i < data.length; i += 16) if (data[i] < 128 && data[i + 3] > 0) dark++;
        return dark > 20;
      });
      assert.ok(inked, 'the first page is not blank');
      const pages = Number(await page.getByTestId('document-pages').innerText());
      assert.ok(pages >= 1);

      // The timeline shows the upload (and the view the viewer's fetch just recorded, once reloaded).
      await section('timeline');
      const timeline = page.getByTestId('timeline');
      await timeline.locator('[data-event="document.uploaded"]').waitFor();
      assert.match(await timeline.innerText(), /127\.0\.0\.1/);
      await page.reload();
      await hydrated(page);
      await section('timeline');
      await page.getByTestId('timeline').locator('[data-event="document.viewed"]').first().waitFor();
      await screenshot(page, `${device.name}-docs-3-document`);

      // Verify: every check passes, including the stored file against the evidence.
      await section('evidence');
      await press(page.getByTestId('verify'), device);
      const verdict = page.getByTestId('verify-verdict');
      await verdict.waitFor({ timeout: 30_000 });
      assert.match(await verdict.innerText(), /Valid/);
      const stored = page.locator('[data-check="stored_file"]');
      assert.match(await stored.getAttribute('class'), /check--pass/);
      assert.equal(await page.locator('.check--fail').count(), 0);
      await screenshot(page, `${device.name}-docs-4-verified`);

      // Both documents are listed.
      await page.goto(server.url + '/');
      await hydrated(page);
      await page.getByTestId('documents-list').waitFor();
      assert.equal(await page.locator('.doc-list__item').count(), 2);

      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      assert.equal(await server.stop(), 0);
    }
  });
}
