// A real OpenID provider for Attesta's SSO tests and demos: panva's oidc-provider (OpenID
// certified), on 127.0.0.1 only, with in-memory storage and its built-in development login and
// consent forms. Never use it for anything but tests.
//
// Start: IDP_PORT=9400 node idp.mjs   (scripts/services/idp.sh does this)
//
// Issuer: http://127.0.0.1:$IDP_PORT. Authorization code flow only, PKCE (S256) required.
//
// Accounts: the development login form accepts any login and any password. The login names the
// account (it becomes the subject, `sub`), and decides its claims:
//   - `alice@acme.test`            -> email alice@acme.test, email_verified true, name "alice"
//   - `alice` (no @)               -> email alice@example.com, email_verified true
//   - `unverified+bob@acme.test`   -> email bob@acme.test, email_verified FALSE (test knob)
// As the specification says, scope claims such as `email` go to the userinfo endpoint, not into
// the ID token, when an access token is issued (`conformIdTokenClaims`): the relying party has to
// call userinfo, which is what Attesta does.
//
// Clients (all confidential, client_secret_basic, application_type "native"):
//   - attesta-test / attesta-test-secret: an ordinary client.
//   - attesta-tampered / attesta-tampered-secret: TEST KNOB. Its token responses are real, but a
//     koa middleware in front of the provider flips one character in the middle of the ID
//     token's signature before the response leaves, so the token no longer verifies.
// Their one redirect URI is http://127.0.0.1/auth/sso/callback. Because the clients are "native",
// oidc-provider accepts that loopback URI on any port (RFC 8252 section 7.3), so test servers
// bound to a random port need no registration. Loopback only: no other host is accepted.
//
// ID tokens expire after 5 minutes (see `ttl` below).
//
// Other test knobs:
//   - POST /test/rotate-keys: the provider signs from now on with a fresh RSA key (new `kid`);
//     /jwks serves the new key first and keeps the old one, as a provider rotating keys does.
//     Answers 204. It changes the provider for everyone using it: a test that rotates keys must
//     not share the provider with other tests running at the same time.
//   - GET /test/health: 200 "ok" when the provider is up.

import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.IDP_PORT || 9400);
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const REDIRECT = 'http://127.0.0.1/auth/sso/callback';
const TAMPERED_CLIENT = 'attesta-tampered';

/** A fresh RS256 signing key as a private JWK with a unique `kid`. */
function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg: 'RS256', use: 'sig', kid: `k${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}` };
}

/** The claims of the account a login names (see the header). */
function claimsFor(login) {
  let verified = true;
  let address = login;
  if (address.startsWith('unverified+')) {
    verified = false;
    address = address.slice('unverified+'.length);
  }
  if (!address.includes('@')) address = `${address}@example.com`;
  return { email: address, email_verified: verified, name: address.split('@')[0] };
}

function configuration(keys) {
  const client = (id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [REDIRECT],
  });
  return {
    clients: [client('attesta-test'), client(TAMPERED_CLIENT)],
    jwks: { keys },
    pkce: { required: () => true },
    // ID tokens live 5 minutes (the default is an hour): a test makes one expire by moving the
    // app's clock 6 minutes, which stays inside the app's 10-minute limit for a sign-in.
    ttl: { IdToken: 300 },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, sub) {
      return { accountId: sub, async claims() { return { sub, ...claimsFor(sub) }; } };
    },
  };
}

/** Flips one character in the middle of a JWS signature (base64url), keeping it well-formed. */
function tamper(jws) {
  const parts = jws.split('.');
  const sig = parts[2];
  const i = Math.floor(sig.length / 2);
  parts[2] = sig.slice(0, i) + (sig[i] === 'A' ? 'B' : 'A') + sig.slice(i + 1);
  return parts.join('.');
}

let keys = [signingKey()];
let provider = build(keys);

function build(currentKeys) {
  const p = new Provider(issuer, configuration(currentKeys));
  p.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.oidc?.client?.clientId === TAMPERED_CLIENT && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token) };
    }
  });
  return p;
}

// The outer handler: the test endpoints, then whichever provider is current. A rotation builds a
// new provider over the same in-memory storage (oidc-provider's memory adapter is shared by
// instances), so sessions, codes and grants survive it.

const server = http.createServer(async (req, res) => {
  if (req.url === '/test/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (req.url === '/test/rotate-keys' && req.method === 'POST') {
    keys = [signingKey(), ...keys];
    provider = build(keys);
    res.writeHead(204);
    res.end();
    return;
  }
  provider.callback()(req, res);
});

server.listen(port, host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
