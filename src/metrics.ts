// Prometheus metrics (prom-client), one registry per runtime. Counters move on the request path;
// the inventory's gauges (keys, drift, envelopes awaiting repair, compliance findings, jobs, circuits) are read from the database and the
// connections when scraped, so they are right on every instance without any bookkeeping.
import { count } from 'drizzle-orm';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Db } from './db/client.ts';
import { jobs } from './db/schema/index.ts';
import { keyCounts, openDriftKeys } from './db/queries/inventory.ts';
import { countAwaitingRepair } from './db/queries/envelope-repairs.ts';
import type { Connections } from './routing/connection.ts';
import type { Inventory } from './inventory/inventory.ts';

const CIRCUIT = { closed: 0, 'half-open': 1, open: 2 } as const;

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'operation' | 'code'>;
  readonly failovers: Counter<'operation' | 'from' | 'to'>;
  readonly missingWraps: Counter<'connection'>;

  constructor(db: Db, connections: Connections, inventory: Pick<Inventory, 'findings'>) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'kmsgw_requests_total', help: 'Authenticated requests by operation and status code', labelNames: ['operation', 'code'], registers });
    this.failovers = new Counter({ name: 'kmsgw_failovers_total', help: 'Operations another binding served after the one tried first failed, by the failed and the serving connection', labelNames: ['operation', 'from', 'to'], registers });
    this.missingWraps = new Counter({ name: 'kmsgw_envelope_missing_wraps_total', help: 'Envelopes made without the wrap of a binding that was unavailable, by its connection', labelNames: ['connection'], registers });
    new Gauge({
      name: 'kmsgw_keys', help: 'Keys by provider, state and whether the gateway manages them', labelNames: ['provider', 'state', 'managed'], registers,
      async collect() {
        this.reset();
        for (const r of await keyCounts(db)) this.set({ provider: r.provider, state: r.state, managed: String(r.managed) }, r.keys);
      },
    });
    new Gauge({
      name: 'kmsgw_drift_open_keys', help: 'Keys with drift that discovery found and nothing has resolved', registers,
      async collect() { this.set(await openDriftKeys(db)); },
    });
    new Gauge({
      name: 'kmsgw_envelopes_awaiting_repair', help: 'Envelopes made without some binding\'s wrap that the sync job has not repaired yet', registers,
      async collect() { this.set(await countAwaitingRepair(db)); },
    });
    new Gauge({
      name: 'kmsgw_compliance_findings_keys', help: 'Keys breaking each governance rule, as of the latest finished compliance scan', labelNames: ['rule'], registers,
      async collect() {
        this.reset();
        for (const r of (await inventory.findings())?.byRule ?? []) this.set({ rule: r.rule }, r.keys);
      },
    });
    new Gauge({
      name: 'kmsgw_jobs', help: 'Background jobs by kind and status', labelNames: ['kind', 'status'], registers,
      async collect() {
        this.reset();
        const rows = await db.select({ kind: jobs.kind, status: jobs.status, n: count() }).from(jobs).groupBy(jobs.kind, jobs.status);
        for (const r of rows) this.set({ kind: r.kind, status: r.status }, r.n);
      },
    });
    new Gauge({
      name: 'kmsgw_connection_circuit', help: 'Circuit breaker per connection: 0 closed, 1 half-open, 2 open', labelNames: ['connection', 'provider'], registers,
      collect() {
        for (const c of connections.all()) this.set({ connection: c.name, provider: c.provider.kind }, CIRCUIT[c.circuit]);
      },
    });
  }
}
