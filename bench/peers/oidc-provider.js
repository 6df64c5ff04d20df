// Comparison peer for bench/run and bench/code-flow: node oidc-provider (OpenID-certified)
// issuing access tokens as ES256-signed JWTs, like cloudtrust does.
//
// Env: PORT (default 4000), CLIENT_ID, CLIENT_SECRET (the client-credentials client of
// bench/run). Listens on 127.0.0.1 only.
//
// bench/code-flow also sets CODE_CLIENT_ID, CODE_CLIENT_SECRET and CODE_REDIRECT_URI: a second,
// confidential client (client_secret_basic, PKCE) for the authorization_code and refresh_token
// grants, with ES256 ID tokens, ES256 JWT access tokens and refresh tokens rotated on every use.
// Then, and only then, the peer also
//   - keeps its artifacts in an unbounded in-process Map (oidc-provider's development
//     MemoryAdapter is an LRU of 1,000 entries, too small for thousands of pre-minted codes);
//   - answers POST /bench/mint?kind=code|refresh&n=N&code_challenge=C (debug only, loopback
//     only): mints N authorization codes (S256 challenge C) or N refresh tokens, each with its
//     own grant, for the user "bench-user" and scope "openid offline_access", and answers them
//     one per line (text/plain). They are the same artifacts the authorization endpoint and
//     the token endpoint would store, saved through oidc-provider's own models.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4000);
const clientId = process.env.CLIENT_ID || 'bench-client';
const clientSecret = process.env.CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef';
const codeClientId = process.env.CODE_CLIENT_ID || '';
const codeClientSecret = process.env.CODE_CLIENT_SECRET || '';
const codeRedirectUri = process.env.CODE_REDIRECT_URI || 'http://127.0.0.1:53682/callback';
const codeFlow = codeClientId !== '';
const resource = 'urn:cloudtrust:bench';
const accountId = 'bench-user';
const codeScope = 'openid offline_access';

if (codeFlow && !codeClientSecret) {
  console.error('CODE_CLIENT_ID is set without CODE_CLIENT_SECRET');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

// An unbounded in-memory store (used only with the code-flow client, see above).
const artifacts = new Map(); // "Model:id" -> { payload, expiresAt (ms) }
const byGrant = new Map(); // grantId -> Set of "Model:id"
const byUid = new Map(); // session uid -> session id
class MapAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    artifacts.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (payload.grantId) {
      let keys = byGrant.get(payload.grantId);
      if (!keys) { keys = new Set(); byGrant.set(payload.grantId, keys); }
      keys.add(key);
    }
    if (this.model === 'Session' && payload.uid) byUid.set(payload.uid, id);
  }

  async find(id) {
    const key = this.key(id);
    const entry = artifacts.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) { artifacts.delete(key); return undefined; }
    return entry.payload;
  }

  async findByUid(uid) { const id = byUid.get(uid); return id === undefined ? undefined : this.find(id); }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const entry = artifacts.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { artifacts.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const keys = byGrant.get(grantId);
    if (keys) { for (const key of keys) artifacts.delete(key); byGrant.delete(grantId); }
  }
}

const clients = [{
  client_id: clientId,
  client_secret: clientSecret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_post', // client_secret_basic is accepted too
  id_token_signed_response_alg: 'ES256', // the only key is EC P-256
}];
if (codeFlow) {
  clients.push({
    client_id: codeClientId,
    client_secret: codeClientSecret,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [codeRedirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  });
}

const provider = new Provider(`http://127.0.0.1:${port}`, {
  ...(codeFlow ? { adapter: MapAdapter } : {}),
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] }, // unused here; silences a warning
  clients,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  // Every account exists; its ID token carries only `sub` (cloudtrust's, for these scopes, too).
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  // Like cloudtrust: PKCE (S256) is checked whenever the code has a challenge, and a refresh
  // token is replaced on every use (reuse revokes the grant).
  rotateRefreshToken: true,
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: '', audience: resource, accessTokenTTL: 3600,
        accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  ttl: {
    ClientCredentials: 3600,
    AccessToken: 3600,
    IdToken: 3600,
    AuthorizationCode: 60,
    RefreshToken: 30 * 24 * 60 * 60,
    Grant: 30 * 24 * 60 * 60,
  },
});

// Mints `n` codes or refresh tokens as the authorization / token endpoint would store them.
async function mint(kind, n, codeChallenge) {
  const client = await provider.Client.find(codeClientId);
  const authTime = Math.floor(Date.now() / 1000);
  const one = async () => {
    const grant = new provider.Grant({ accountId, clientId: codeClientId });
    grant.addOIDCScope(codeScope);
    grant.addResourceScope(resource, '');
    const grantId = await grant.save();
    const common = {
      accountId, client, grantId, scope: codeScope, resource, authTime, expiresWithSession: false,
    };
    if (kind === 'code') {
      return new provider.AuthorizationCode({
        ...common, redirectUri: codeRedirectUri, codeChallenge, codeChallengeMethod: 'S256',
      }).save();
    }
    return new provider.RefreshToken({ ...common, gty: 'authorization_code', rotations: 0 }).save();
  };
  const out = [];
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j += 1) batch.push(one());
    out.push(...await Promise.all(batch));
  }
  return out;
}

function mintRoute(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const kind = url.searchParams.get('kind');
  const n = Number(url.searchParams.get('n'));
  const challenge = url.searchParams.get('code_challenge') || '';
  const fail = (status, text) => { res.writeHead(status, { 'content-type': 'text/plain' }); res.end(`${text}\n`); };
  if (req.method !== 'POST') return fail(405, 'POST only');
  if (kind !== 'code' && kind !== 'refresh') return fail(400, 'kind must be code or refresh');
  if (!Number.isInteger(n) || n < 1 || n > 200000) return fail(400, 'n must be 1..200000');
  if (kind === 'code' && !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return fail(400, 'code_challenge (S256) is required');
  req.resume();
  mint(kind, n, challenge).then(
    (tokens) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`${tokens.join('\n')}\n`); },
    (err) => { console.error(err); fail(500, String(err)); },
  );
  return undefined;
}

const ready = () => console.log(`oidc-provider peer on http://127.0.0.1:${port}${codeFlow ? ' (code-flow client and /bench/mint enabled)' : ''}`);
if (codeFlow) {
  const app = provider.callback();
  createServer((req, res) => {
    if (req.url.startsWith('/bench/mint')) mintRoute(req, res);
    else app(req, res);
  }).listen(port, '127.0.0.1', ready);
} else {
  provider.listen(port, '127.0.0.1', ready);
}
