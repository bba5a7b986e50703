// Authentication of a request from its Authorization header: `Bearer kmsgw_…` is an API key,
// any other bearer token a JWT from the configured OIDC issuer. Credentials travel only in this
// header, never in URLs. Without the header, a client certificate verified by the TLS handshake
// (mutual TLS) authenticates the request.
import type { ApiKeyAuthenticator } from './api-keys.ts';
import { looksLikeApiKey } from './api-keys.ts';
import type { Identity } from './identity.ts';
import type { OidcAuthenticator } from './oidc.ts';
import type { MtlsAuthenticator, PeerCertificate } from './mtls.ts';

export type Authentication = { identity: Identity } | { failure: 'missing' | 'invalid' };

export class Authenticator {
  constructor(readonly apiKeys: ApiKeyAuthenticator, private readonly oidc?: OidcAuthenticator, private readonly mtls?: MtlsAuthenticator) {}

  async authenticate(authorization: string | undefined, peer?: () => PeerCertificate | undefined): Promise<Authentication> {
    if (!authorization) {
      const certificate = this.mtls && peer?.();
      if (!certificate) return { failure: 'missing' };
      const identity = this.mtls!.authenticate(certificate);
      return identity ? { identity } : { failure: 'invalid' };
    }
    const m = /^Bearer +(\S+)$/i.exec(authorization);
    if (!m) return { failure: 'invalid' };
    const token = m[1]!;
    const identity = looksLikeApiKey(token) ? await this.apiKeys.authenticate(token) : await this.oidc?.authenticate(token);
    return identity ? { identity } : { failure: 'invalid' };
  }
}
