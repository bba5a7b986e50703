// `kmsgw keys …`: the everyday key operations through the gateway's API, as a table or JSON.
import { readFileSync } from 'node:fs';
import Table from 'cli-table3';
import { SingleBar } from 'cli-progress';
import { approval, call, callJson, CliError, EXIT, pairs } from './client.ts';
import { follow, type Job } from './jobs.ts';

interface Key {
  id: string; aliases: string[]; spec: string; usage: string; state: string; provider: string; connection: string; managed: boolean;
  currentVersion: number; tags: Record<string, string>; lastUsedAt: string | null; nextRotationAt: string | null; description: string;
}

export interface ListOptions {
  provider?: string[]; state?: string[]; connection?: string[]; spec?: string[]; owner?: string; tag?: string[]; observed?: boolean;
  sort?: string; limit: string; all?: boolean; json?: boolean;
}

const date = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '');

function printKeys(keys: Key[]): void {
  const table = new Table({ head: ['id', 'alias', 'spec', 'state', 'provider', 'connection', 'owner', 'last used'], style: { head: [], border: [] } });
  for (const k of keys) table.push([k.id, k.aliases[0] ?? '', k.spec, k.state, k.provider, k.connection, k.tags.owner ?? '', date(k.lastUsedAt)]);
  console.log(table.toString());
}

/** The search parameters the list and the export share. */
export function searchQuery(o: Omit<ListOptions, 'limit' | 'all' | 'json'>): URLSearchParams {
  const q = new URLSearchParams();
  for (const name of ['provider', 'state', 'connection', 'spec', 'tag'] as const) for (const v of o[name] ?? []) q.append(name, v);
  for (const name of ['owner', 'sort'] as const) if (o[name]) q.set(name, o[name]);
  if (o.observed) q.set('managed', 'false');
  return q;
}

export async function keysList(o: ListOptions): Promise<void> {
  const q = searchQuery(o);
  q.set('limit', o.limit);
  const keys: Key[] = [];
  for (let cursor: string | null = null; ;) {
    if (cursor) q.set('cursor', cursor);
    const page = await callJson<{ keys: Key[]; nextCursor: string | null }>('GET', `/v1/keys?${q}`);
    keys.push(...page.keys);
    cursor = page.nextCursor;
    if (!cursor || !o.all) break;
  }
  if (o.json) console.log(JSON.stringify(keys, null, 2));
  else printKeys(keys);
}

export async function keysShow(key: string, o: { json?: boolean }): Promise<void> {
  const k = await callJson<Key & { bindings: { role: string; connection: string; ref: string | null }[] }>('GET', `/v1/keys/${encodeURIComponent(key)}`);
  if (o.json) return console.log(JSON.stringify(k, null, 2));
  const table = new Table({ style: { head: [], border: [] } });
  table.push(
    { id: k.id }, { aliases: k.aliases.join(', ') }, { spec: `${k.spec} (${k.usage})` }, { state: k.state }, { managed: String(k.managed) },
    { version: String(k.currentVersion) }, { 'next rotation': date(k.nextRotationAt) }, { 'last used': date(k.lastUsedAt) },
    { tags: Object.entries(k.tags).map(([n, v]) => `${n}=${v}`).join(', ') }, { description: k.description },
    ...k.bindings.map((b) => ({ [b.role]: `${b.connection}  ${b.ref ?? '(pending: the key\'s sync job makes it)'}` })),
  );
  console.log(table.toString());
}

interface MaterialOptions { material?: string; wrappingKey?: string; scheme?: string }

export interface CreateOptions extends MaterialOptions {
  spec: string; usage: string; connection?: string; alias?: string[]; tag?: string[]; description?: string; rotationDays?: string; json?: boolean;
}

/** Bring your own key: the request's `material`, from the file --material names. */
function broughtMaterial(o: MaterialOptions) {
  if ((o.material === undefined) !== (o.wrappingKey === undefined) || (o.scheme && !o.material)) throw new CliError('--material and --wrapping-key go together (with --scheme, if any)', EXIT.usage);
  return o.material === undefined ? undefined : { wrappedKey: readFileSync(o.material).toString('base64'), wrappingKey: o.wrappingKey, scheme: o.scheme };
}

export async function keysCreate(o: CreateOptions): Promise<void> {
  const tags = pairs('--tag', o.tag);
  const rotationPeriodDays = o.rotationDays === undefined ? undefined : Number(o.rotationDays);
  if (rotationPeriodDays !== undefined && !Number.isInteger(rotationPeriodDays)) throw new CliError(`--rotation-days "${o.rotationDays}" is not a whole number`, EXIT.usage);
  const key = await callJson<Key>('POST', '/v1/keys', { spec: o.spec, usage: o.usage, connection: o.connection, aliases: o.alias, tags, description: o.description, rotationPeriodDays, material: broughtMaterial(o) });
  if (o.json) console.log(JSON.stringify(key, null, 2));
  else console.log(key.id);
}

/** rotate (of an imported key, with --material), suspend, reactivate: one POST, the key's new state printed. */
export function keysTransition(path: 'rotate' | 'suspend' | 'reactivate') {
  return async (key: string, o: MaterialOptions & { approval?: string; json?: boolean }): Promise<void> => {
    const material = broughtMaterial(o);
    const k = await callJson<Key>('POST', `/v1/keys/${encodeURIComponent(key)}/${path}`, material && { material }, approval(o));
    if (o.json) console.log(JSON.stringify(k, null, 2));
    else console.log(`${k.id}: ${k.state}, version ${k.currentVersion}`);
  };
}

export async function keysDelete(key: string, o: { days?: string; approval?: string; json?: boolean }): Promise<void> {
  const res = await call('POST', `/v1/keys/${encodeURIComponent(key)}/schedule-deletion`, o.days ? { pendingDays: Number(o.days) } : {}, approval(o));
  const k = await res.json() as Key & { dates: { deletion: string } };
  if (o.json) console.log(JSON.stringify(k, null, 2));
  else console.log(`${k.id}: ${k.state}; destroyed on ${k.dates.deletion} unless cancelled`);
}

/** `kmsgw keys sync`: the key's sync job, followed to its end unless --no-wait. */
export async function keysSync(key: string, o: SyncOptions): Promise<void> {
  await followSync(await callJson<Job>('POST', `/v1/keys/${encodeURIComponent(key)}/sync`), o);
}

/** `kmsgw keys add-replica`: records the replica and follows the key's sync job, which makes it. */
export async function keysAddReplica(key: string, connection: string, o: SyncOptions): Promise<void> {
  await followSync(await callJson<Job>('POST', `/v1/keys/${encodeURIComponent(key)}/replicas`, { connection }), o);
}

interface SyncOptions { wait: boolean; json?: boolean }

async function followSync(queued: Job, o: SyncOptions): Promise<void> {
  const bar = o.wait && process.stderr.isTTY && !o.json
    ? new SingleBar({ format: `syncing ${queued.target} | {caughtUp} replica versions made | {repaired} envelopes repaired | {duration_formatted}`, hideCursor: true })
    : undefined;
  bar?.start(0, 0, { caughtUp: 0, repaired: 0 });
  const job = o.wait ? await follow(queued, ({ progress }) => bar?.update(0, { caughtUp: progress.caughtUp ?? 0, repaired: progress.repaired ?? 0 })) : queued;
  bar?.stop();
  if (o.json) console.log(JSON.stringify(job, null, 2));
  else {
    const p = job.progress;
    console.log(`${job.id} ${job.status}: ${p.caughtUp ?? 0} replica versions made, ${p.repaired ?? 0} envelopes repaired (${p.wrapsAdded ?? 0} wraps added), ${p.unrepairable ?? 0} beyond repair`);
    for (const note of job.notes) console.log(`  note: ${note}`);
  }
  if (job.status === 'FAILED') throw new CliError(`sync failed: ${job.error}`, EXIT.unavailable);
}
