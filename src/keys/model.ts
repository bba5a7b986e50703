// Inputs and context of the key services, independent of HTTP.
import type { Db } from '../db/client.ts';
import { newId } from '../ids.ts';
import { systemIdentity, type Identity } from '../auth/identity.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from './specs.ts';
import type { KeyBindingRow, KeyRow } from '../db/schema/index.ts';
import type { CreateVersionRequest, ImportRequest } from '../../providers/provider.ts';

/** Work a caller adds to the transaction that makes a change (recording an idempotency key, say). */
export type InTransaction = (tx: Db, keyId: string) => Promise<void>;

/**
 * Who asks, for which API operation (the Cedar action) and under which request id. `record`
 * collects, as the request goes, what its audit event will say: the key and version it touched, the
 * connection, and the access decision with its reasons.
 */
export interface Actor {
  identity: Identity;
  requestId: string;
  operation?: string;
  ip?: string;
  /** The approved request this request presents (Kmsgw-Approval), claimed for it. */
  approval?: ClaimedApproval;
  record: AuditRecord;
}

/** An approval claimed by a request: it counts only for its target (a key id, or a gateway path id or ''). */
export interface ClaimedApproval { id: string; target: string; count: number }

export interface AuditRecord {
  keyId?: string;
  keyVersion?: number;
  connection?: string;
  decision?: 'allow' | 'deny';
  reasons?: string[];
  /** The error code the request ended with; none when it succeeded. */
  outcome?: string;
  /** What else an auditor needs to know (the API key or policy changed, say); never secrets. */
  detail?: Record<string, string>;
}

/** The gateway's own work, outside any request: not subject to access policy. */
export const systemActor = (name: string): Actor => ({ identity: systemIdentity(name), requestId: newId('req'), record: {} });

export interface CreateKeyInput {
  spec: KeySpec;
  usage: KeyUsage;
  signingAlgorithm?: SigningAlgorithm;
  description?: string;
  tags?: Record<string, string>;
  aliases?: string[];
  rotationPeriodDays?: number;
  activationDate?: Date;
  protectStopDate?: Date;
  deactivationDate?: Date;
  exportable?: boolean;
  connection?: string;
  /** Connections that hold an independent replica key: every envelope is wrapped under each. */
  replicas?: string[];
  /** The caller's own material (bring your own key): the primary imports it instead of making its own. */
  material?: MaterialOpener;
}

/** Tags a key may carry: AWS KMS's limit per key, which the key's tags reach. */
export const MAX_TAGS = 50;

export interface UpdateKeyInput {
  description?: string;
  /** JSON merge patch: a null value removes the tag. */
  tags?: Record<string, string | null>;
}

/** Material a caller brought, ready for an importer: wrapped for whichever target it offers. */
export type BroughtMaterial = Pick<ImportRequest, 'wrap' | 'publicKey'>;

/**
 * The caller's material, opened as a `spec` key only when `use` needs it (after the request's checks,
 * so a refused request opens nothing) and zeroed once `use` is done.
 */
export type MaterialOpener = <T>(spec: KeySpec, use: (material: BroughtMaterial) => Promise<T>) => Promise<T>;

/**
 * A new version of the key on a binding's backend. It carries the tags the binding's backend key
 * has, so that on a backend where each version is a key of its own the new one has them too.
 */
export const versionRequest = (key: KeyRow, binding: KeyBindingRow & { ref: string }): CreateVersionRequest => ({
  ref: binding.ref, spec: key.spec, usage: key.usage, keyId: key.id, exportable: key.extractable, signingAlgorithm: key.signingAlgorithm ?? undefined,
  tags: binding.appliedTags ?? {},
});
