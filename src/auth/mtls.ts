// Client certificates, when the gateway serves TLS with a client CA: a certificate that chains to
// that CA authenticates as `mtls:<subject CN>`, with the roles and groups the configuration gives
// that subject (none for a subject it does not list). The TLS handshake does the verification;
// this maps the verified subject to an identity valid until the certificate expires.
import { ROLES, type Identity, type Role } from './identity.ts';

export interface MtlsClient { subject: string; roles: Role[]; groups: string[] }
export interface MtlsConfig { clients: MtlsClient[] }

/** What the TLS layer says about the client's certificate. */
export interface PeerCertificate {
  /** Whether it chains to the configured client CA (and is within its validity). */
  authorized: boolean;
  subject: string;
  validTo: Date;
}

export class MtlsAuthenticator {
  private readonly bySubject: Map<string, MtlsClient>;

  constructor(config: MtlsConfig) {
    this.bySubject = new Map(config.clients.map((c) => [c.subject, c]));
  }

  authenticate(peer: PeerCertificate): Identity | undefined {
    if (!peer.authorized || !peer.subject) return undefined;
    const client = this.bySubject.get(peer.subject);
    return {
      principal: `mtls:${peer.subject}`, name: peer.subject, authMethod: 'mtls',
      roles: (client?.roles ?? []).filter((r) => (ROLES as readonly string[]).includes(r)), groups: client?.groups ?? [], validUntil: peer.validTo,
    };
  }
}
