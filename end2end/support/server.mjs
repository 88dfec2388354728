// Starts the real `attesta` binary on a free loopback port with a fresh data folder, and stops it.

import { execFileSync, spawn } from 'node:child_process';
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

/**
 * The database and file storage of a fresh server: SQLite and a local folder by default; with
 * `E2E_DATABASE=postgres`, a schema of its own in the PostgreSQL of scripts/services/pg.sh
 * (`ATTESTA_TEST_PG_ADMIN_URL`) and the documents in the S3 store of scripts/services/s3.sh
 * (`ATTESTA_TEST_S3_*`), as a deployment that outgrew one machine runs.
 */
function storage(data) {
  if (process.env.E2E_DATABASE !== 'postgres') {
    return { ATTESTA__DATABASE__URL: `sqlite://${join(data, 'attesta.db')}` };
  }
  const admin = process.env.ATTESTA_TEST_PG_ADMIN_URL;
  const s3 = (name) => process.env[`ATTESTA_TEST_S3_${name}`];
  if (!admin || !s3('ENDPOINT')) {
    throw new Error('E2E_DATABASE=postgres needs pg.sh and s3.sh running: eval "$(bash scripts/services/pg.sh env)"; same for s3.sh');
  }
  const schema = `e2e_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  execFileSync('psql', [admin, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE SCHEMA ${schema}`]);
  return {
    ATTESTA__DATABASE__URL: `${admin}?options%5Bsearch_path%5D=${schema}`,
    ATTESTA__STORAGE__BACKEND: 's3',
    ATTESTA__S3__ENDPOINT: s3('ENDPOINT'),
    ATTESTA__S3__BUCKET: s3('BUCKET'),
    ATTESTA__S3__ACCESS_KEY_ID: s3('ACCESS_KEY'),
    ATTESTA__S3__SECRET_ACCESS_KEY: s3('SECRET_KEY'),
    ATTESTA__S3__REGION: s3('REGION') || 'us-east-1',
    ATTESTA__S3__PATH_STYLE: 'true',
    ATTESTA__S3__PREFIX: `${schema}/`,
  };
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
      ...storage(data),
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
