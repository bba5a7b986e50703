// Inputs and context of the key services, independent of HTTP.
import type { Db } from '../db/client.ts';
import type { KeySpec, KeyUsage, SigningAlgorithm } from './specs.ts';

/** Work a caller adds to the transaction that makes a change (recording an idempotency key, say). */
export type InTransaction = (tx: Db, keyId: string) => Promise<void>;

/** Who asks and under which request id; recorded with every change. */
export interface Actor { principal: string; requestId: string }

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
}

export interface UpdateKeyInput {
  description?: string;
  /** JSON merge patch: a null value removes the tag. */
  tags?: Record<string, string | null>;
}
