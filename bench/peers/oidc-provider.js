// Comparison peer for bench/run: node oidc-provider (OpenID-certified) issuing
// client-credentials access tokens as ES256-signed JWTs, like cloudtrust does.
// Env: PORT (default 4000), CLIENT_ID, CLIENT_SECRET. Listens on 127.0.0.1 only.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4000);
const clientId = process.env.CLIENT_ID || 'bench-client';
const clientSecret = process.env.CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef';
const resource = 'urn:cloudtrust:bench';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] }, // unused here; silences a warning
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post', // client_secret_basic is accepted too
    id_token_signed_response_alg: 'ES256', // the only key is EC P-256
  }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
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
  ttl: { ClientCredentials: 3600 },
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider peer on http://127.0.0.1:${port}`));
