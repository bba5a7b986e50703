// The inventory's search parameters, shared by the key listing and the export: filters, sort and
// their reading into a search.
import { z } from '@hono/zod-openapi';
import { KmsError } from '../../../errors.ts';
import { ownKey, Spec, State, Usage } from '../../schemas.ts';
import { providerKinds } from '../../../../providers/provider.ts';
import { RULE_NAMES } from '../../../governance/rules.ts';
import { SORT_FIELDS, type Sort } from '../../../db/queries/keys.ts';
import type { Search } from '../../../inventory/inventory.ts';

const SORTS = SORT_FIELDS.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];

/** A filter that takes one value, or several by repeating the parameter (keys with any of them). */
const anyOf = <T extends z.ZodType>(value: T) => z.preprocess((v) => (v === undefined ? undefined : [v].flat()), z.array(value).max(20).optional())
  .openapi({ description: 'Repeat for any of several' });

export const SearchQuery = z.object({
  state: anyOf(State),
  spec: anyOf(Spec),
  usage: anyOf(Usage),
  provider: anyOf(z.enum(providerKinds)),
  connection: anyOf(z.string().max(63)),
  region: z.string().max(63).optional().openapi({ description: 'Keys on connections in this region (AWS region, Cloud KMS location, or as a connection declares)' }),
  origin: z.string().max(32).optional().openapi({ description: 'GATEWAY (made through the gateway) or PROVIDER (found by discovery)' }),
  managed: z.enum(['true', 'false']).optional().openapi({ description: 'false: keys discovery found that nobody adopted' }),
  owner: z.string().max(256).optional().openapi({ description: 'The key\'s `owner` tag' }),
  rotationDueBefore: z.string().datetime().optional().openapi({ description: 'Keys whose next scheduled rotation is at or before this time' }),
  unusedSince: z.string().datetime().optional().openapi({ description: 'Keys no operation has used at or after this time, never-used keys included' }),
  replicas: z.enum(['none', 'degraded', 'healthy']).optional().openapi({ description: 'none: no replica; degraded: a binding out of sync or on a connection whose circuit is open; healthy: replicas, none degraded' }),
  finding: z.enum(RULE_NAMES).optional().openapi({ description: 'Keys that break this governance rule. Checked key by key: a page may hold fewer keys than the limit and still have a next cursor' }),
  alias: z.string().optional(),
  tag: z.union([z.string(), z.array(z.string())]).optional().openapi({ description: 'k:v; repeat for several (all must match)' }),
  sort: z.enum(SORTS).default('id').openapi({ description: 'A field, descending with a leading "-"; keys without a value (never used, no rotation) come last either way' }),
});

export function readSearch(q: z.infer<typeof SearchQuery>): { search: Search; sort: Sort } {
  const tags: Record<string, string> = {};
  for (const t of [q.tag ?? []].flat()) {
    const at = t.indexOf(':');
    if (at < 1) throw new KmsError('INVALID_ARGUMENT', `tag filter "${t}" must be key:value`, { field: 'tag' });
    if (!ownKey(t.slice(0, at))) throw new KmsError('INVALID_ARGUMENT', 'a tag filter\'s key must not be __proto__', { field: 'tag' });
    tags[t.slice(0, at)] = t.slice(at + 1);
  }
  if (q.owner !== undefined) tags.owner = q.owner;
  const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));
  return {
    search: {
      state: q.state, spec: q.spec, usage: q.usage, provider: q.provider, connection: q.connection, region: q.region, origin: q.origin,
      managed: q.managed === undefined ? undefined : q.managed === 'true', rotationDueBefore: date(q.rotationDueBefore), unusedSince: date(q.unusedSince),
      replicas: q.replicas, finding: q.finding, alias: q.alias, tags,
    },
    sort: { field: q.sort.replace(/^-/, '') as Sort['field'], descending: q.sort.startsWith('-') },
  };
}
