// OIDC bearer tokens: JWTs verified with jose against the issuer's JWKS (fetched once and cached by
// jose, refetched when a token names an unknown key), issuer, audience and expiry with a clock
// tolerance. Roles and groups come from configurable claims. A verified token is cached until it
// expires, since verification costs tens of microseconds and clients reuse tokens.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { KmsError, needs } from '../errors.ts';
import { LruCache } from '../lru.ts';
import { ROLES, type Identity } from './identity.ts';

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Defaults to the `jwks_uri` of the issuer's discovery document. */
  jwksUrl?: string;
  rolesClaim: string;
  groupsClaim: string;
  clockToleranceSeconds: number;
}

export class OidcAuthenticator {
  private jwks?: ReturnType<typeof createRemoteJWKSet>;
  private readonly verified = new LruCache<string, Identity>(10_000);

  constructor(private readonly config: OidcConfig, private readonly logger: Logger) {}

  async authenticate(token: string): Promise<Identity | undefined> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.validUntil!.getTime() > now) return hit;
      this.verified.delete(token);
    }
    const keySet = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: this.config.issuer, audience: this.config.audience, clockTolerance: this.config.clockToleranceSeconds, requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      // The reason helps operators; the token itself is never logged.
      this.logger.info({ reason: (err as Error).message }, 'bearer token refused');
      return undefined;
    }
    const identity: Identity = {
      principal: `oidc:${payload.sub}`,
      name: String(payload.preferred_username ?? payload.email ?? payload.sub),
      authMethod: 'oidc',
      roles: claimList(payload[this.config.rolesClaim]).filter((r) => (ROLES as readonly string[]).includes(r)),
      groups: claimList(payload[this.config.groupsClaim]),
      validUntil: new Date(payload.exp! * 1000),
    };
    this.verified.set(token, identity);
    return identity;
  }

  private async keySet() {
    if (this.jwks) return this.jwks;
    let url = this.config.jwksUrl;
    if (!url) {
      const res = await fetch(new URL('.well-known/openid-configuration', this.config.issuer.endsWith('/') ? this.config.issuer : `${this.config.issuer}/`))
        .catch((cause: unknown) => { throw new KmsError('UNAVAILABLE', 'the OIDC issuer\'s discovery document cannot be fetched', { cause }); });
      needs(res.ok, 'UNAVAILABLE', `the OIDC issuer's discovery document answered ${res.status}`);
      url = String(((await res.json()) as { jwks_uri?: unknown }).jwks_uri);
    }
    this.jwks = createRemoteJWKSet(new URL(url));
    return this.jwks;
  }
}

/** A claim holding names: a JSON array, or one space-separated string (as OAuth scopes are). */
function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}
