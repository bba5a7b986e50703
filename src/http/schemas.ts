// Schemas shared by several routes: bytes, key references, the key view and the problem shape.
import { z } from '@hono/zod-openapi';
import { keySpecs, keyUsages, signingAlgorithms } from '../keys/specs.ts';
import { keyStates } from '../keys/lifecycle.ts';
import { MAX_TAGS } from '../keys/model.ts';

// Standard base64, checked by one character-class scan and the length rule: zod's grouped base64
// pattern cost a tenth of an encrypt request on 4 KiB of plaintext.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export const isBase64 = (s: string): boolean => s.length % 4 === 0 && BASE64.test(s);
export const Bytes = z.string().refine(isBase64, 'must be standard base64 (padded)').openapi({ format: 'byte', description: 'Standard base64', example: 'aGVsbG8=' });
/**
 * "__proto__" cannot be a key of a record the gateway keeps as an object (assigning it sets the
 * object's prototype), and zod drops it from a record without a word: a context entry would be left
 * unbound, a tag lost. Refused instead.
 */
export const ownKey = (k: string): boolean => k !== '__proto__';
export const ownKeys = <T extends z.ZodType>(record: T) => z.preprocess((v, ctx) => {
  if (typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__')) ctx.addIssue({ code: 'custom', message: 'a key must not be __proto__' });
  return v;
}, record);

export const Context = ownKeys(z.record(z.string().min(1, 'must be 1-256 characters').max(256, 'must be 1-256 characters'), z.string().max(1024))
  .refine((c) => Object.keys(c).length <= 64, 'at most 64 context entries')
  .openapi({ description: 'Encryption context: bound to the ciphertext, required again to decrypt', example: { tenant: 'acme' } }));
export const TagKey = z.string().regex(/^[A-Za-z0-9_.:/=+@-]{1,128}$/, 'must be 1-128 letters, digits or _.:/=+@-');
export const Tags = ownKeys(z.record(TagKey, z.string().max(256))
  .refine((t) => Object.keys(t).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`));

export const KeyRefParam = z.object({
  key: z.string().min(1).max(140).openapi({ param: { name: 'key', in: 'path' }, description: 'Key id (key_…) or alias/NAME', example: 'alias/payments' }),
});

export const Spec = z.enum(keySpecs);
export const Usage = z.enum(keyUsages);
export const State = z.enum(keyStates);
export const Algorithm = z.enum(signingAlgorithms);
export const Version = z.number().int().min(1).max(2 ** 31 - 1);

export const Timestamp = z.string().datetime().nullable();

export const KeyView = z.object({
  id: z.string(),
  aliases: z.array(z.string()),
  spec: Spec,
  usage: Usage,
  signingAlgorithm: Algorithm.nullable(),
  state: State,
  description: z.string(),
  tags: z.record(z.string(), z.string()),
  origin: z.string(),
  managed: z.boolean().openapi({ description: 'false: found by discovery and not adopted; listed, never used' }),
  connection: z.string().openapi({ description: 'The primary binding\'s connection' }),
  provider: z.string(),
  currentVersion: z.number().int(),
  rotationPeriodDays: z.number().int().nullable(),
  nextRotationAt: Timestamp,
  lastUsedAt: Timestamp.openapi({ description: 'When an operation last used the key\'s material; written every few seconds, so it may trail by that much' }),
  attributes: z.object({ extractable: z.boolean(), neverExtractable: z.boolean(), sensitive: z.boolean(), alwaysSensitive: z.boolean() }),
  dates: z.object({ activation: Timestamp, protectStop: Timestamp, deactivation: Timestamp, deletion: Timestamp, compromise: Timestamp, destroyed: Timestamp }),
  bindings: z.array(z.object({
    id: z.string(), connection: z.string(), provider: z.string(),
    ref: z.string().nullable().openapi({ description: 'The backend key (a provider URI); null while the sync job makes a replica added to an existing key' }),
    role: z.enum(['primary', 'replica']),
    sameMaterial: z.boolean().openapi({ description: 'The replica holds the key\'s own material, imported from the primary version by version (an exportable key made outside the clouds), so it can also sign, MAC and unwrap for the key; otherwise it is an independent key that wraps envelopes\' data keys' }),
    syncStatus: z.enum(['in_sync', 'behind', 'pending']).openapi({
      description: 'behind: the binding lacks the key\'s current version (its connection was down when it was made) until the sync job makes it; pending: a replica added to the key, whose backend key the sync job has yet to make',
    }),
    backendState: z.enum(['LIVE', 'PENDING_DELETION', 'DESTROYED']).openapi({
      description: 'How far along the key\'s deletion the backend key is: the key\'s state changes first, and its sync job brings the backend keys along',
    }),
    lastSeenAt: Timestamp.openapi({ description: 'When discovery last saw it at the backend' }),
  })),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
}).openapi('Key');

export const ProblemSchema = z.object({
  type: z.string(), title: z.string(), status: z.number().int(), detail: z.string(),
  code: z.string(), requestId: z.string(), field: z.string().optional(),
}).openapi('Problem');

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

/** Spread into every route's responses (Unkey's pattern): the errors any route may answer. */
export const errorResponses = {
  400: problem('Invalid request'),
  401: problem('No credentials, or credentials not valid'),
  403: problem('Denied by access policy'),
  404: problem('Not found'),
  409: problem('Conflict with the key\'s state'),
  413: problem('Body too large'),
  415: problem('Body is not application/json'),
  500: problem('Internal error'),
  503: problem('Provider or audit trail unavailable'),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
