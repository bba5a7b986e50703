// The inventory as a CMDB takes it: one flat record per key, written as CSV (RFC 4180, by
// csv-stringify) or JSON lines. Tags stay one JSON column in CSV, so any tag name fits.
import { stringify } from 'csv-stringify/sync';
import type { KeyGraph } from '../db/queries/keys.ts';
import type { Connections } from '../routing/connection.ts';

const COLUMNS = [
  'id', 'aliases', 'spec', 'usage', 'state', 'managed', 'origin', 'provider', 'connection', 'region', 'owner', 'tags',
  'currentVersion', 'rotationPeriodDays', 'nextRotationAt', 'lastUsedAt', 'replicas', 'bindings', 'createdAt', 'updatedAt',
] as const;

type Row = Record<typeof COLUMNS[number], string | number | boolean | null>;

export type ExportFormat = 'csv' | 'jsonl';

export function exportRow({ key, aliases, bindings }: KeyGraph, connections: Connections): Row {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: key.id, aliases: aliases.join(' '), spec: key.spec, usage: key.usage, state: key.state, managed: key.managed, origin: key.origin,
    provider: key.provider, connection: key.connection, region: connections.find(key.connection)?.region ?? null, owner: key.tags.owner ?? null,
    tags: JSON.stringify(key.tags), currentVersion: key.currentVersion, rotationPeriodDays: key.rotationPeriodDays,
    nextRotationAt: iso(key.nextRotationAt), lastUsedAt: iso(key.lastUsedAt), replicas: bindings.filter((b) => b.role === 'replica').length,
    bindings: bindings.map((b) => `${b.role}:${b.connection}:${b.ref ?? 'pending'}`).join(' '), createdAt: iso(key.createdAt), updatedAt: iso(key.updatedAt),
  };
}

/** One page of the export; the CSV header goes with the first. */
export function exportPage(rows: Row[], format: ExportFormat, first: boolean): string {
  if (format === 'jsonl') return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  // A cell a spreadsheet would take for a formula (an owner tag "=HYPERLINK(…)") is prefixed with ',
  // as OWASP advises for CSV meant for spreadsheets: a key's tags are anyone's input.
  return stringify(rows, { header: first, columns: [...COLUMNS], cast: { boolean: (b) => String(b) }, escape_formulas: true });
}
