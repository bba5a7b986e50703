// Who a request comes from, once authenticated: the principal id that audit records and policies
// name, how it authenticated, and the roles and groups that policies test.
export type AuthMethod = 'api-key' | 'oidc' | 'mtls' | 'system' | 'none';

export interface Identity {
  /** `ak_…` for an API key, `oidc:<subject>` for a bearer token, `mtls:<subject CN>` for a client certificate. */
  principal: string;
  name: string;
  authMethod: AuthMethod;
  roles: readonly string[];
  groups: readonly string[];
  /** When the credential stops being valid; break-glass policies require one. */
  validUntil?: Date;
}

/** The roles the shipped policies (policies/roles) know; a credential may only carry these. */
export const ROLES = ['administrator', 'break-glass', 'auditor', 'read-only', 'crypto-user'] as const;
export type Role = (typeof ROLES)[number];

/** The gateway's own work (date-driven transitions, drills): not subject to access policy. */
export const systemIdentity = (name: string): Identity => ({ principal: `system:${name}`, name, authMethod: 'system', roles: [], groups: [] });

/** A request's identity until it authenticates; no policy permits it anything. */
export const anonymous: Identity = { principal: 'anonymous', name: 'anonymous', authMethod: 'none', roles: [], groups: [] };
