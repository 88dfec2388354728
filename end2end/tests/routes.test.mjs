// Every route of the app (app/src/lib.rs) opened directly, as a reload, a bookmark or a new tab
// does: the server renders it and the WASM client must take it over (hydrate) without one console
// error, page error or Content-Security-Policy violation, on a desktop and on a 360 px phone, with
// nothing wider than the screen. A screenshot of each is saved in end2end/test-results/
// (routes-<device>-<name>.png) to look at.
//
// The data is real: an owner with a saved draft (recipients and fields), a document out for
// signature and partly signed, a completed and sealed one, a voided one; a signing link read
// back from the real SMTP server (MailDev).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startServer } from '../support/server.mjs';
import { makePdf } from '../support/pdf.mjs';
import { DESKTOP, PHONE, launch, openPage, screenshot } from '../support/browser.mjs';
import { MAILDEV, linkFor } from '../support/ceremony.mjs';

const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };
const SMALL_PHONE = { ...PHONE, name: 'phone-360', viewport: { width: 360, height: 740 } };
/** A 1×1 transparent PNG: a valid signature image for the server's checks. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');
// Addresses unique to this run: MailDev is shared with other test runs.
const run = randomBytes(4).toString('hex');
const email = (who) => `${who}.${run}@example.com`;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Records CSP violations in the page (the browser also logs them; this names the directive). */
async function watchCsp(context) {
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI || ''} ${e.sample || ''}`.trim());
    });
  });
}

/**
 * Opens `path` directly and checks it: hydrated, no problems, no sideways scrolling. `ready`, when
 * given, waits for what the page shows once its data is there. `allow` lists console messages that
 * are expected (a 404 page's own status).
 */
async function visit(server, { page, problems }, device, name, path, { ready, allow = [] } = {}) {
  problems.length = 0;
  const response = await page.goto(server.url + path);
  try {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 });
  } catch {
    await screenshot(page, `routes-${device.name}-${name}-FAILED`);
    throw new Error(`${path} on a ${device.name} never hydrated: ${JSON.stringify(problems)}`);
  }
  if (ready) await ready(page);
  // Let late work (the PDF viewer, polls, effects) run and fail now if it fails.
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
  const csp = await page.evaluate(() => window.__csp || []);
  const unexpected = problems.filter((p) => !allow.some((a) => p.includes(a)));
  await screenshot(page, `routes-${device.name}-${name}`);
  assert.deepEqual(unexpected, [], `${path} on a ${device.name}: console or page errors`);
  assert.deepEqual(csp, [], `${path} on a ${device.name}: CSP violations`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${path} on a ${device.name} is ${overflow}px wider than the screen`);
  return response;
}

/** Calls a server function (JSON in, JSON out) as a signed-in browser would. */
async function call(request, server, path, body) {
  const r = await request.post(server.url + path, { data: body, headers: { origin: server.url } });
  const text = await r.text();
  assert.ok(r.ok(), `${path}: ${r.status()} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function upload(request, server, title, pages) {
  const pdf = makePdf(title, pages);
  const r = await request.post(`${server.url}/api/documents`, {
    multipart: { sha256: sha256(pdf), file: { name: `${title}.pdf`, mimeType: 'application/pdf', buffer: pdf } },
    headers: { origin: server.url },
  });
  assert.equal(r.status(), 201, await r.text());
  return { id: (await r.json()).id, sha: sha256(pdf) };
}

/** Saves a draft: `signers` in order, a signature and a date for each; returns the revision. */
async function saveDraft(request, server, id, signers) {
  const { revision } = await call(request, server, '/api/draft', { id });
  const recipients = signers.map((s, i) => ({ id: `r${i + 1}`, name: s.name, email: s.email, otp: false }));
  const fields = signers.flatMap((_, i) => [
    { id: `s${i + 1}`, recipient: `r${i + 1}`, kind: 'signature', page: 1, rect: { x: 72, y: 500 - 90 * i, width: 180, height: 48 }, required: true, label: '' },
    { id: `d${i + 1}`, recipient: `r${i + 1}`, kind: 'date_signed', page: 1, rect: { x: 300, y: 500 - 90 * i, width: 110, height: 22 }, required: true, label: '' },
  ]);
  const draft = { order: 'sequential', recipients, fields, message: 'Please sign.' };
  return call(request, server, '/api/draft/save', { id, revision, draft });
}

async function send(request, server, id, signers) {
  const revision = await saveDraft(request, server, id, signers);
  await call(request, server, '/api/draft/send', { id, revision });
}

/** A signer signs by link, through the same server functions their page calls. */
async function signByLink(server, link, sha, field) {
  const token = link.split('/sign/')[1];
  const signer = await browser.newContext();
  try {
    const post = (what, body) => call(signer.request, server, `/api/sign/${what}`, { token, ...body });
    await post('open', {});
    await post('viewed', {});
    await post('consent', { geo: null });
    await post('submit', {
      submission: {
        values: { [field]: { type: 'applied' } },
        signature_png: PNG_1X1,
        signature_method: 'drawn',
        initials_png: null,
        initials_method: null,
        client_sha256: sha,
      },
    });
  } finally {
    await signer.close();
  }
}

const skip = MAILDEV ? false : 'MailDev is not running (scripts/services/mail.sh start; eval "$(scripts/services/mail.sh env)")';

test('every route hydrates when opened directly, on a desktop and a 360 px phone', { skip }, async () => {
  const server = await startServer();
  try {
    // ---- A fresh instance: only setup exists. ----
    for (const device of [DESKTOP, SMALL_PHONE]) {
      const tab = await openPage(browser, device);
      await watchCsp(tab.context);
      try {
        await visit(server, tab, device, 'setup', '/setup', { ready: (p) => p.getByLabel('Your name').waitFor() });
        // Everything else leads to setup first.
        await visit(server, tab, device, 'login-before-setup', '/login');
        assert.match(tab.page.url(), /\/setup$/);
      } finally {
        await tab.context.close();
      }
    }

    // ---- The owner and their documents, made through the app's own endpoints. ----
    const api = await browser.newContext();
    const setup = await api.request.post(`${server.url}/api/setup`, {
      form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
      headers: { origin: server.url },
      maxRedirects: 0,
    });
    assert.ok(setup.status() < 400, `setup: ${setup.status()}`);
    const draft = await upload(api.request, server, 'Services Agreement draft', 28);
    await saveDraft(api.request, server, draft.id, [
      { name: 'Bob Builder', email: email('bob') },
      { name: 'Carol Danvers-Longname', email: email('carol.with.a.rather.long.address') },
      { name: 'Dan', email: email('dan') },
    ]);
    const sent = await upload(api.request, server, 'Lease out for signature', 2);
    const sentSigners = [
      { name: 'Erin', email: email('erin') },
      { name: 'Frank', email: email('frank') },
    ];
    await send(api.request, server, sent.id, sentSigners);
    await signByLink(server, await linkFor(sentSigners[0].email), sent.sha, 's1');
    const signLink = await linkFor(sentSigners[1].email);
    const done = await upload(api.request, server, 'NDA completed', 1);
    await send(api.request, server, done.id, [{ name: 'Gina', email: email('gina') }]);
    await signByLink(server, await linkFor(email('gina')), done.sha, 's1');
    const voided = await upload(api.request, server, 'Quote voided', 1);
    await send(api.request, server, voided.id, [{ name: 'Hal', email: email('hal') }]);
    await call(api.request, server, '/api/signing/void', { id: voided.id, reason: 'Wrong amount' });
    // The completed one is sealed in the background.
    for (let i = 0; ; i++) {
      const d = await (await api.request.get(`${server.url}/api/documents/get?id=${done.id}`)).json();
      if (d.completion.sealed_sha256) break;
      if (i > 120) throw new Error('never sealed');
      await new Promise((r) => setTimeout(r, 500));
    }
    await api.close();

    const viewerReady = async (p) => {
      await p.locator('attesta-pdf[data-state="ready"]').first().waitFor({ state: 'attached', timeout: 30_000 });
    };
    const signedIn = [
      ['documents', '/', { ready: (p) => p.getByTestId('documents-list').waitFor() }],
      ['documents-attention', '/?status=attention', { ready: (p) => p.getByTestId('documents-count').waitFor() }],
      ['documents-scheduled', '/?status=scheduled', { ready: (p) => p.getByTestId('documents-count').waitFor() }],
      ['documents-expiring', '/?status=expiring_soon', { ready: (p) => p.getByTestId('documents-count').waitFor() }],
      ['documents-waiting-for-me', '/?status=waiting_for_me', { ready: (p) => p.getByTestId('documents-count').waitFor() }],
      ['upload', '/documents/upload', { ready: (p) => p.locator('.dropzone__hint').getByText('Up to').waitFor() }],
      ['document-draft', `/documents/${draft.id}`, { ready: viewerReady }],
      ['document-sent', `/documents/${sent.id}`, { ready: viewerReady }],
      ['document-completed', `/documents/${done.id}`, { ready: viewerReady }],
      ['document-voided', `/documents/${voided.id}`, { ready: viewerReady }],
      ['document-missing', '/documents/dnothere', { ready: (p) => p.getByText('Document not found').waitFor(), allow: ['status of 404'] }],
      ['prepare-draft', `/documents/${draft.id}/prepare`, { ready: (p) => p.getByTestId('recipient').nth(2).waitFor() }],
      ['prepare-sent', `/documents/${sent.id}/prepare`, { ready: (p) => p.getByText('This document was sent').waitFor() }],
      ['verify', '/verify', {}],
      ['risk', '/risk', { ready: (p) => p.getByTestId('risk-counts').waitFor() }],
      ['settings', '/settings', {}],
      ['settings-sessions', '/settings/sessions', {}],
      ['settings-users', '/settings/users', {}],
      ['settings-webhooks', '/settings/webhooks', {}],
      ['settings-api-keys', '/settings/api-keys', {}],
      // The jobs that sent the links, sealed the completed document and signed checkpoints.
      ['settings-jobs', '/settings/jobs', { ready: (p) => p.getByTestId('recent-jobs').getByTestId('job-row').first().waitFor() }],
      // The self-verification that ran when the server started (its period had begun).
      ['settings-integrity', '/settings/integrity', { ready: (p) => p.getByTestId('integrity-latest').waitFor() }],
      // The dashboard, with the hold placed on the completed document below.
      ['settings-trust', '/settings/trust', { ready: (p) => p.getByTestId('trust-hold').first().waitFor() }],
      ['document-held', `/documents/${done.id}`, { ready: (p) => p.locator('[data-testid="hold-status"][data-held="true"]').waitFor({ state: 'attached' }) }],
      ['not-found', '/no/such/page', { allow: ['status of 404'] }],
    ];
    const signedOut = [
      ['login', '/login', { ready: (p) => p.getByLabel('Email').waitFor() }],
      ['login-signed-out', '/login?signed_out=1', {}],
      ['login-sso-error', '/login?sso_error=state', {}],
      ['setup-after-setup', '/setup', {}],
      ['home-signed-out', '/', {}],
      ['verify-signed-out', '/verify', {}],
      ['sign', `/sign/${signLink.split('/sign/')[1]}`, { ready: (p) => p.getByTestId('consent').waitFor() }],
      ['sign-used-link', `/sign/${'A'.repeat(43)}`, { ready: (p) => p.getByTestId('link-unusable').waitFor(), allow: ['status of 410'] }],
      ['not-found-signed-out', '/no/such/page', { allow: ['status of 404'] }],
    ];

    for (const device of [DESKTOP, SMALL_PHONE]) {
      const tab = await openPage(browser, device);
      await watchCsp(tab.context);
      try {
        for (const [name, path, options] of signedOut) await visit(server, tab, device, name, path, options);
        const login = await tab.context.request.post(`${server.url}/api/login`, {
          form: { email: OWNER.email, password: OWNER.password },
          headers: { origin: server.url },
          maxRedirects: 0,
        });
        assert.ok(login.status() < 400, `login: ${login.status()}`);
        if (device === DESKTOP) {
          const held = await tab.context.request.post(`${server.url}/api/documents/hold`, {
            form: { id: done.id, reason: 'Case 2026-114, Smith v. Acme' },
            headers: { origin: server.url },
          });
          assert.ok(held.ok(), `hold: ${held.status()} ${await held.text()}`);
        }
        for (const [name, path, options] of signedIn) await visit(server, tab, device, name, path, options);
      } finally {
        await tab.context.close();
      }
    }

    // The upload page opened directly works: its hint is there, and a chosen file shows its
    // progress and ends uploaded (it used to crash while hydrating and upload unseen).
    const tab = await openPage(browser, DESKTOP);
    await watchCsp(tab.context);
    try {
      const login = await tab.context.request.post(`${server.url}/api/login`, {
        form: { email: OWNER.email, password: OWNER.password },
        headers: { origin: server.url },
        maxRedirects: 0,
      });
      assert.ok(login.status() < 400);
      await visit(server, tab, DESKTOP, 'upload-direct', '/documents/upload', {
        ready: (p) => p.locator('.dropzone__hint').getByText('Up to').waitFor(),
      });
      assert.ok(await tab.page.locator('.needs-client').isHidden(), 'the "needs JavaScript" note is gone once the client runs');
      const pdf = makePdf('Picked after a reload', 1);
      await tab.page.getByTestId('file-input').setInputFiles({ name: 'picked.pdf', mimeType: 'application/pdf', buffer: pdf });
      await tab.page.locator('[data-testid="upload-item"][data-state="done"]').waitFor({ timeout: 30_000 });
      assert.equal(await tab.page.getByTestId('upload-item').count(), 1);
      assert.equal(await tab.page.getByTestId('upload-sha256').innerText(), sha256(pdf));
      assert.deepEqual(tab.problems, []);
    } finally {
      await tab.context.close();
    }
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
