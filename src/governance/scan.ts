// The compliance scan: a job that checks every key in the inventory against the rules in force and
// counts the findings by rule, so the dashboard and the metrics show the whole inventory's figures
// (the report at /v1/compliance pages through keys on request; at a million keys nobody waits for it).
import type { JobRow } from '../db/schema/index.ts';
import { BY_ID, type After } from '../db/queries/keys.ts';
import type { JobKind, StepResult } from '../jobs/runner.ts';
import type { KeyService } from '../keys/service.ts';
import type { Governance } from './governance.ts';

export const COMPLIANCE_SCAN = 'compliance-scan';
/** The one target a scan has: the whole inventory under the rules in force. */
export const INVENTORY = 'inventory';
/** A progress counter per rule: `finding:<rule>`. */
export const FINDING_PREFIX = 'finding:';
const PAGE = 500;

export class ComplianceScan implements JobKind {
  constructor(private readonly keys: KeyService, private readonly governance: Governance) {}

  async step(job: JobRow): Promise<StepResult> {
    const after = (job.cursor as { after?: After }).after;
    const page = await this.keys.list({}, PAGE, BY_ID, after);
    const progress = { ...job.progress };
    const count = (name: string, n = 1) => { progress[name] = (progress[name] ?? 0) + n; };
    const live = page.keys.filter((g) => g.key.state !== 'DESTROYED');
    count('scanned', live.length);
    for (const graph of live) {
      const found = await this.governance.check(this.governance.facts(graph));
      if (found.length > 0) count('keys');
      for (const rule of new Set(found.map((f) => f.rule))) count(`${FINDING_PREFIX}${rule}`);
    }
    return { done: page.next === undefined, cursor: page.next ? { after: page.next } : {}, progress };
  }
}
