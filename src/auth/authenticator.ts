// Authentication of a request from its Authorization header: `Bearer kmsgw_…` is an API key,
// any other bearer token a JWT from the configured OIDC issuer. Credentials travel only in this
// header, never in URLs.
import type { ApiKeyAuthenticator } from './api-keys.ts';
import { looksLikeApiKey } from './api-keys.ts';
import type { Identity } from './identity.ts';
import type { OidcAuthenticator } from './oidc.ts';

export type Authentication = { identity: Identity } | { failure: 'missing' | 'invalid' };

export class Authenticator {
  constructor(readonly apiKeys: ApiKeyAuthenticator, private readonly oidc?: OidcAuthenticator) {}

  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (!authorization) return { failure: 'missing' };
    const m = /^Bearer +(\S+)$/i.exec(authorization);
    if (!m) return { failure: 'invalid' };
    const token = m[1]!;
    const identity = looksLikeApiKey(token) ? await this.apiKeys.authenticate(token) : await this.oidc?.authenticate(token);
    return identity ? { identity } : { failure: 'invalid' };
  }
}
