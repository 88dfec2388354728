// The public /verify page, loaded directly (as from the link on a certificate of completion):
// a genuine sealed PDF says valid and names the document, each signer and when, the seal and
// the log checkpoint; a tampered one says not valid with the reasons first, in plain words.
// On a desktop and on a phone, with screenshots in end2end/test-results/.
//
// The sealed PDF is made through the real server over HTTP (the sender's and the signer's
// server functions, the signing link read back from MailDev), so the page checks what an
// instance really produces.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { makePdf } from '../support/pdf.mjs';
import { DESKTOP, PHONE, launch, openPage, hydrated, screenshot } from '../support/browser.mjs';
import { MAILDEV, maildev, linkFor } from '../support/ceremony.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada-verify@example.com', password: 'correct horse battery staple' };
const SIGNER = { name: 'Grace Hopper', email: 'grace-verify@example.com' };
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');

async function post(server, path, body, cookie) {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A two-page lease, sent to one signer, signed, completed and sealed; its sealed PDF. */
async function sealedPdf(server) {
  const form = new URLSearchParams({ name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password });
  const setup = await fetch(`${server.url}/api/setup`, { method: 'POST', body: form, headers: { origin: server.url }, redirect: 'manual' });
  assert.ok(setup.status < 400, `setup: ${setup.status}`);
  const cookie = setup.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const pdf = makePdf('Lease for Flat 3', 2);
  const body = new FormData();
  body.append('sha256', sha256(pdf));
  body.append('file', new Blob([pdf], { type: 'application/pdf' }), 'Lease for Flat 3.pdf');
  const upload = await fetch(`${server.url}/api/documents`, { method: 'POST', body, headers: { origin: server.url, cookie } });
  const uploaded = await upload.text();
  assert.equal(upload.status, 201, uploaded);
  const { id } = JSON.parse(uploaded);
  const { revision } = await post(server, '/api/draft', { id }, cookie);
  const draft = {
    order: 'sequential',
    recipients: [{ id: 'r1', name: SIGNER.name, email: SIGNER.email, otp: false }],
    fields: [{ id: 's1', recipient: 'r1', kind: 'signature', page: 1, rect: { x: 72, y: 100, width: 180, height: 48 }, required: true, label: '' }],
    message: 'Please sign.',
  };
  const saved = await post(server, '/api/draft/save', { id, revision, draft }, cookie);
  await post(server, '/api/draft/send', { id, revision: saved }, cookie);
  const link = await linkFor(SIGNER.email);
  const token = link.split('/sign/')[1];
  await post(server, '/api/sign/open', { token });
  await post(server, '/api/sign/viewed', { token });
  await post(server, '/api/sign/consent', { token, geo: null });
  const submission = { values: { s1: { type: 'applied' } }, signature_png: PNG_1X1, signature_method: 'drawn', initials_png: null, initials_method: null, client_sha256: sha256(pdf) };
  await post(server, '/api/sign/submit', { token, submission });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${server.url}/documents/${id}/sealed.pdf`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    if (r.ok) return Buffer.from(await r.arrayBuffer());
    if (Date.now() > deadline) throw new Error(`no sealed PDF: ${r.status}`);
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

/** Loads /verify directly on `device`, gives it `file`, and returns the page's answer. */
async function check(server, device, file, shot) {
  const { context, page, problems } = await openPage(browser, device);
  try {
    await page.goto(`${server.url}/verify`);
    await hydrated(page);
    await page.getByTestId('verify-input').setInputFiles([file]);
    const verdict = page.getByTestId('verify-verdict');
    await verdict.waitFor({ timeout: 60_000 });
    const answer = {
      verdict: await verdict.innerText(),
      kind: await verdict.getAttribute('data-verdict'),
      text: await page.locator('main').innerText(),
      problemsFirst: await page.evaluate(() => {
        const problems = document.querySelector('[data-testid="verify-problems"]');
        const summary = document.querySelector('[data-testid="verify-summary"]');
        return Boolean(problems && summary && problems.compareDocumentPosition(summary) & Node.DOCUMENT_POSITION_FOLLOWING);
      }),
      checksOpen: await page.locator('details.verify__checks').evaluate((d) => d.open),
    };
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the report fits the screen (${overflow}px too wide)`);
    await screenshot(page, shot);
    assert.deepEqual(problems, [], 'no console errors on a direct load');
    return answer;
  } finally {
    await context.close();
  }
}

let browser;
let server;
before(async () => {
  browser = await launch();
  server = await startServer();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';
if (skip && process.env.CI) throw new Error(skip);

test('/verify names what was signed by whom, and puts the reasons first when it is not valid', { skip }, async () => {
  await maildev('/email/all', { method: 'DELETE' });
  const sealed = await sealedPdf(server);
  const genuine = { name: 'Lease for Flat 3 (signed).pdf', mimeType: 'application/pdf', buffer: sealed };
  // Changed after sealing: bytes appended, as an incremental update would.
  const tampered = { ...genuine, name: 'tampered.pdf', buffer: Buffer.concat([sealed, Buffer.from('\n% changed after sealing\n')]) };
  for (const device of [DESKTOP, PHONE]) {
    const ok = await check(server, device, genuine, `verify-direct-${device.name}-genuine`);
    assert.equal(ok.kind, 'valid', ok.text);
    assert.match(ok.verdict, /^Valid: this is exactly the document that was signed, sealed by /, ok.text);
    for (const fact of ['Lease for Flat 3', SIGNER.name, SIGNER.email, 'Sealed by', 'document seal', 'Recorded in', '/attesta-log']) {
      assert.ok(ok.text.includes(fact), `${device.name}: "${fact}" is shown:\n${ok.text}`);
    }
    assert.match(ok.text, /Grace Hopper <grace-verify@example\.com>, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.equal(ok.checksOpen, false, 'the passed checks are folded away');

    const bad = await check(server, device, tampered, `verify-direct-${device.name}-tampered`);
    assert.equal(bad.kind, 'invalid', bad.text);
    assert.match(bad.verdict, /^Not valid: \d+ problems? found/, bad.text);
    assert.ok(bad.problemsFirst, 'the reasons come before the facts');
    assert.ok(bad.text.includes('The PDF was changed after it was sealed.'), bad.text);
    assert.ok(bad.text.indexOf('What is wrong') < bad.text.indexOf('What the files claim'), bad.text);
  }
});
