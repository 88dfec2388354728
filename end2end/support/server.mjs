// Starts the real `attesta` binary on a free loopback port with a fresh data folder, and stops it.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..');

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

export function binaryPath() {
  if (process.env.E2E_BIN) return process.env.E2E_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(repo, 'target');
  return join(target, 'debug', 'attesta');
}

/** Starts the server; `env` adds configuration (e.g. `ATTESTA__SSO__ISSUER_URL`). */
export async function startServer({ env = {} } = {}) {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'attesta-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binaryPath(), ['serve'], {
    cwd: data,
    env: {
      ...process.env,
      ATTESTA__SERVER__PORT: String(port),
      ATTESTA__SERVER__SITE_ROOT: process.env.E2E_SITE_ROOT || join(repo, 'target', 'site'),
      ATTESTA__DATABASE__URL: `sqlite://${join(data, 'attesta.db')}`,
      ATTESTA__LOG__FILTER: 'warn',
      // Mail goes to the real SMTP server the test scripts start (MailDev), when it runs.
      ...(process.env.ATTESTA_TEST_SMTP_PORT
        ? {
            ATTESTA__MAIL__TRANSPORT: 'smtp',
            ATTESTA__MAIL__SMTP_HOST: process.env.ATTESTA_TEST_SMTP_HOST || '127.0.0.1',
            ATTESTA__MAIL__SMTP_PORT: process.env.ATTESTA_TEST_SMTP_PORT,
            ATTESTA__MAIL__SMTP_TLS: 'none',
          }
        : {}),
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((ok) => child.once('exit', (code) => ok(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`attesta exited early with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('attesta did not become healthy within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(data, { recursive: true, force: true });
      return code;
    },
  };
}
