// Request rate limits per principal and per key, on each gateway instance: a token bucket each
// (limiter's), kept for the most recently active principals and keys. Over the limit is 429 with
// Retry-After, before any work is done. Limits are per instance: behind a load balancer of n
// instances, a client gets up to n times the figure.
import { TokenBucket } from 'limiter';
import { KmsError } from '../errors.ts';
import { LruCache } from '../lru.ts';
import type { Actor } from '../keys/model.ts';

export interface RateLimit {
  /** Requests allowed per `perSeconds`; 0 turns the limit off. */
  requests: number;
  perSeconds: number;
  /** Requests that may arrive at once after a quiet spell; `requests` by default. */
  burst?: number;
}

export interface RateLimitOptions { perPrincipal: RateLimit; perKey: RateLimit }

export const defaultRateLimits: RateLimitOptions = { perPrincipal: { requests: 5_000, perSeconds: 1 }, perKey: { requests: 5_000, perSeconds: 1 } };

/** Buckets kept per dimension; a principal or key evicted starts again with a full bucket. */
const TRACKED = 10_000;

class Limiter {
  private readonly buckets = new LruCache<string, TokenBucket>(TRACKED);
  constructor(private readonly what: string, private readonly limit: RateLimit) {}

  take(id: string, actor: Actor): void {
    const { requests, perSeconds, burst } = this.limit;
    if (requests === 0 || actor.identity.authMethod === 'system') return;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket({ bucketSize: burst ?? requests, tokensPerInterval: requests, interval: perSeconds * 1000 });
      bucket.content = bucket.bucketSize; // limiter's buckets start empty; a newcomer starts with its burst
      this.buckets.set(id, bucket);
    }
    if (bucket.tryRemoveTokens(1)) return;
    const retryAfter = Math.max(1, Math.ceil(((1 - bucket.content) * perSeconds) / requests));
    actor.record.reasons = [`rate-limited-${this.what}`];
    throw new KmsError('RESOURCE_EXHAUSTED', `${this.what} "${id}" is over its limit of ${requests} requests per ${perSeconds} s on this instance; retry after ${retryAfter} s`, { retryAfter });
  }
}

export class RateLimits {
  private readonly principals: Limiter;
  private readonly keys: Limiter;

  constructor(options: RateLimitOptions = defaultRateLimits) {
    this.principals = new Limiter('principal', options.perPrincipal);
    this.keys = new Limiter('key', options.perKey);
  }

  principal(actor: Actor): void { this.principals.take(actor.identity.principal, actor); }

  key(actor: Actor, keyId: string): void { this.keys.take(keyId, actor); }
}
