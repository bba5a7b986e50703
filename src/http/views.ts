// How keys look on the wire.
import type { z } from '@hono/zod-openapi';
import type { KeyGraph } from '../db/queries/keys.ts';
import { effectiveState } from '../keys/lifecycle.ts';
import type { KeyView } from './schemas.ts';

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function keyView({ key, aliases, bindings }: KeyGraph, now = new Date()): z.infer<typeof KeyView> {
  return {
    id: key.id,
    aliases,
    spec: key.spec,
    usage: key.usage,
    signingAlgorithm: key.signingAlgorithm,
    // The state its dates have already moved it to, even before the sweep has written it.
    state: effectiveState(key, now),
    description: key.description,
    tags: key.tags,
    origin: key.origin,
    managed: key.managed,
    connection: key.connection,
    provider: key.provider,
    currentVersion: key.currentVersion,
    rotationPeriodDays: key.rotationPeriodDays,
    nextRotationAt: iso(key.nextRotationAt),
    lastUsedAt: iso(key.lastUsedAt),
    attributes: { extractable: key.extractable, neverExtractable: key.neverExtractable, sensitive: key.sensitive, alwaysSensitive: key.alwaysSensitive },
    dates: {
      activation: iso(key.activationDate), protectStop: iso(key.protectStopDate), deactivation: iso(key.deactivationDate),
      deletion: iso(key.deletionDate), compromise: iso(key.compromiseDate), destroyed: iso(key.destroyedAt),
    },
    bindings: bindings.map((b) => ({ id: b.id, connection: b.connection, provider: b.provider, ref: b.ref, role: b.role, sameMaterial: b.sameMaterial, syncStatus: b.ref === null ? 'pending' : b.versions.has(key.currentVersion) ? 'in_sync' : 'behind', backendState: b.appliedState, lastSeenAt: iso(b.lastSeenAt) })),
    createdAt: key.createdAt.toISOString(),
    updatedAt: key.updatedAt.toISOString(),
  };
}

// A view over the same memory, not a copy: ciphertexts are the largest thing a request writes.
export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const fromB64 = (s: string): Buffer => Buffer.from(s, 'base64');
