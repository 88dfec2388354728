// The owner's set-up that browser tests share: the first account, a PDF uploaded through the
// same endpoint the upload page uses, and a draft saved through the editor's server function.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makePdf } from './pdf.mjs';

export const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple' };

export const sha256 = (buffer) => createHash('sha256').update(buffer).digest('hex');

/** POSTs JSON to a server function as the browser does (same origin); returns the parsed answer. */
export async function call(request, server, path, body) {
  const r = await request.post(server.url + path, { data: body, headers: { origin: server.url } });
  const text = await r.text();
  assert.ok(r.ok(), `${path}: ${r.status()} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Creates the owner's account (signing `context` in) and uploads a `pages`-page PDF. */
export async function ownerWithDocument(server, context, title, pages = 1) {
  const setup = await context.request.post(`${server.url}/api/setup`, {
    form: { name: OWNER.name, email: OWNER.email, password: OWNER.password, password_confirm: OWNER.password },
    headers: { origin: server.url },
    maxRedirects: 0,
  });
  assert.ok(setup.status() < 400, `setup: ${setup.status()}`);
  return upload(server, context, title, pages);
}

/** Uploads a `pages`-page PDF titled `title`; returns its id and hash. */
export async function upload(server, context, title, pages = 1) {
  const pdf = makePdf(title, pages);
  const r = await context.request.post(`${server.url}/api/documents`, {
    multipart: { sha256: sha256(pdf), file: { name: `${title}.pdf`, mimeType: 'application/pdf', buffer: pdf } },
    headers: { origin: server.url },
  });
  assert.equal(r.status(), 201, await r.text());
  return { id: (await r.json()).id, sha: sha256(pdf) };
}

/** Saves a draft with these signers (`{ name, email }`), one signature field each on page 1. */
export async function saveSigners(server, context, id, signers, order = 'parallel') {
  const { revision } = await call(context.request, server, '/api/draft', { id });
  const recipients = signers.map((s, i) => ({ id: `r${i + 1}`, name: s.name, email: s.email, otp: false }));
  const fields = signers.map((_, i) => ({
    id: `s${i + 1}`,
    recipient: `r${i + 1}`,
    kind: 'signature',
    page: 1,
    rect: { x: 72, y: 100 + 60 * i, width: 180, height: 48 },
    required: true,
    label: '',
  }));
  return call(context.request, server, '/api/draft/save', { id, revision, draft: { order, recipients, fields, message: '' } });
}
