// The inventory's operations beyond single keys: search (with the filters that need the runtime or
// the governance rules), the dashboard's summary, discovery jobs per connection and the drift they find.
import { and, desc, eq, inArray, isNotNull, lt, lte, ne, sql } from 'drizzle-orm';
import { needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Db } from '../db/client.ts';
import { listJobs, queueJob } from '../db/queries/jobs.ts';
import { sortValue, type After, type KeyFilter, type KeyGraph, type Sort } from '../db/queries/keys.ts';
import { usageSince } from '../db/queries/usage.ts';
import { keyCounts, openDriftKeys } from '../db/queries/inventory.ts';
import { keyEvents, keys, type JobRow } from '../db/schema/index.ts';
import type { Governance } from '../governance/governance.ts';
import type { RuleName } from '../governance/rules.ts';
import type { KeyService } from '../keys/service.ts';
import type { Connections } from '../routing/connection.ts';
import { DISCOVERY, type Discovery } from './discovery.ts';
import { SCHEDULE } from '../jobs/every.ts';
import { COMPLIANCE_SCAN, FINDING_PREFIX, INVENTORY } from '../governance/scan.ts';

export interface Search extends Omit<KeyFilter, 'connections' | 'unhealthy'> {
  /** Keys on connections in this region. */
  region?: string;
  /** Keys that break this governance rule. */
  finding?: RuleName;
}

export const DRIFT_TYPES = ['DRIFT', 'DRIFT_RESOLVED', 'OBSERVED_CHANGE'] as const;

/** How many keys one page of a `finding` search may look at before it answers with what it found. */
const FINDING_SCAN = 5_000;

export class Inventory {
  constructor(
    private readonly db: Db,
    private readonly connections: Connections,
    private readonly keys: KeyService,
    private readonly governance: Governance,
    readonly discovery: Discovery,
  ) {}

  /**
   * A page of keys matching the search. A `finding` is checked key by key, so such a page may hold
   * fewer than `limit` keys (even none) and still have a next cursor: it stops after scanning a bounded number.
   */
  async search(search: Search, sort: Sort, after: After | undefined, limit: number): Promise<{ keys: KeyGraph[]; next?: After }> {
    const { region, finding, ...rest } = search;
    const filter: KeyFilter = {
      ...rest,
      connections: region === undefined ? undefined : this.connections.all().filter((c) => c.region === region).map((c) => c.name),
      unhealthy: search.replicas ? this.connections.all().filter((c) => c.circuit !== 'closed').map((c) => c.name) : undefined,
    };
    if (!finding) return this.keys.list(filter, limit, sort, after);
    const found: KeyGraph[] = [];
    for (let scanned = 0; scanned < FINDING_SCAN;) {
      const page = await this.keys.list(filter, Math.min(500, FINDING_SCAN - scanned), sort, after);
      for (const graph of page.keys) {
        if (graph.key.state !== 'DESTROYED' && (await this.governance.check(this.governance.facts(graph), [finding])).length > 0) found.push(graph);
        after = { id: graph.key.id, value: sortValue(graph.key, sort.field) };
        if (found.length === limit) return { keys: found, next: page.next || graph !== page.keys.at(-1) ? after : undefined };
      }
      scanned += page.keys.length;
      if (!page.next) return { keys: found };
    }
    return { keys: found, next: after };
  }

  /** The dashboard: keys by provider and state, rotations due, drift, and operations per provider by the hour. */
  async summary(now: Date, hours: number) {
    const soon = new Date(now.getTime() + 30 * 86_400_000);
    const [byProviderState, rotation, drift, usage, findings] = await Promise.all([
      keyCounts(this.db),
      this.db.select({
        overdue: sql<number>`count(*) filter (where ${keys.nextRotationAt} <= ${now.toISOString()}::timestamptz)`.mapWith(Number),
        next30Days: sql<number>`count(*) filter (where ${keys.nextRotationAt} > ${now.toISOString()}::timestamptz)`.mapWith(Number),
      }).from(keys).where(and(isNotNull(keys.nextRotationAt), lte(keys.nextRotationAt, soon), ne(keys.state, 'DESTROYED'))),
      openDriftKeys(this.db),
      usageSince(this.db, new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - (hours - 1) * 3_600_000)),
      this.findings(),
    ]);
    const providerOf = new Map(this.connections.all().map((c) => [c.name, c.provider.kind as string]));
    const perHour = new Map<string, number>();
    for (const u of usage) {
      const k = `${u.hour.toISOString()} ${providerOf.get(u.connection) ?? u.connection}`;
      perHour.set(k, (perHour.get(k) ?? 0) + u.count);
    }
    return {
      keys: byProviderState,
      rotation: rotation[0] ?? { overdue: 0, next30Days: 0 },
      drift,
      operations: [...perHour].map(([k, n]) => { const [hour, provider] = k.split(' '); return { hour: hour!, provider: provider!, count: n }; }),
      findings,
    };
  }

  /** Queues a discovery of the connection, or answers the one already queued or running. */
  async discover(connection: string, by: string): Promise<JobRow> {
    needs(this.connections.find(connection), 'NOT_FOUND', `connection "${connection}" is not configured`);
    needs(this.discovery.supports(connection), 'FAILED_PRECONDITION', `connection "${connection}" (${this.connections.get(connection).provider.kind}) cannot list its keys: every key on it is one the gateway made`);
    return this.queue(DISCOVERY, connection, by);
  }

  /** Queues a compliance scan of the whole inventory, or answers the one already queued or running. */
  scanCompliance(by: string): Promise<JobRow> {
    return this.queue(COMPLIANCE_SCAN, INVENTORY, by);
  }

  /** Queues a discovery of each connection that lists its keys and was last discovered `everyMs` ago or more. */
  async discoverDue(everyMs: number, now = new Date()): Promise<JobRow[]> {
    const queued: JobRow[] = [];
    for (const { name } of this.connections.all().filter((c) => this.discovery.supports(c.name))) {
      if (await this.due(DISCOVERY, name, everyMs, now)) queued.push(await this.queue(DISCOVERY, name, SCHEDULE));
    }
    return queued;
  }

  /** Queues a compliance scan if the last one was queued `everyMs` ago or more. */
  async scanDue(everyMs: number, now = new Date()): Promise<JobRow | undefined> {
    return (await this.due(COMPLIANCE_SCAN, INVENTORY, everyMs, now)) ? this.queue(COMPLIANCE_SCAN, INVENTORY, SCHEDULE) : undefined;
  }

  /** The figures of the latest finished compliance scan: keys scanned, keys with findings, keys breaking each rule. */
  async findings(): Promise<{ jobId: string; finishedAt: string; scanned: number; keys: number; byRule: { rule: string; keys: number }[] } | null> {
    const [last] = await listJobs(this.db, { kind: COMPLIANCE_SCAN, status: 'SUCCEEDED' }, 1);
    if (!last) return null;
    const byRule = Object.entries(last.progress).filter(([k]) => k.startsWith(FINDING_PREFIX)).map(([k, n]) => ({ rule: k.slice(FINDING_PREFIX.length), keys: n }));
    return { jobId: last.id, finishedAt: (last.finishedAt ?? last.updatedAt).toISOString(), scanned: last.progress.scanned ?? 0, keys: last.progress.keys ?? 0, byRule: byRule.sort((a, b) => a.rule.localeCompare(b.rule)) };
  }

  private async due(kind: string, target: string, everyMs: number, now: Date): Promise<boolean> {
    const [last] = await listJobs(this.db, { kind, target }, 1);
    return !last || last.createdAt.getTime() <= now.getTime() - everyMs;
  }

  /** One job of a kind per target at a time: a second request joins the one queued or running. */
  private queue(kind: string, target: string, by: string): Promise<JobRow> {
    return queueJob(this.db, { id: newId('job'), kind, target, createdBy: by });
  }

  /** Drift records and changes to observed keys, newest first. */
  async drift(keyId: string | undefined, before: string | undefined, limit: number) {
    return this.db.select().from(keyEvents)
      .where(and(inArray(keyEvents.type, [...DRIFT_TYPES]), keyId ? eq(keyEvents.keyId, keyId) : undefined, before ? lt(keyEvents.id, before) : undefined))
      .orderBy(desc(keyEvents.id)).limit(limit);
  }
}
