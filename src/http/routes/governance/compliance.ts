// GET /v1/compliance — the keys that break the governance rules in force (or a shipped standard's,
// such as the CNSA 2.0 readiness report), with the rule and the fix. Pages walk the inventory in
// key order; a page holds the findings of the keys it scanned.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { errorResponses, json } from '../../schemas.ts';
import { keyAfter, keyCursor } from '../../cursor.ts';
import { RULE_NAMES } from '../../../governance/rules.ts';
import { BY_ID } from '../../../db/queries/keys.ts';

const Query = z.object({
  standard: z.string().optional().openapi({ description: 'A shipped rule set to report against (cnsa-1.0, cnsa-2.0, ...); the rules in force when absent' }),
  key: z.string().max(140).optional().openapi({ description: 'Report this one key (key id or alias/NAME) instead of walking the inventory' }),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(500).openapi({ description: 'Keys scanned by this page' }),
});

const Finding = z.object({
  keyId: z.string(),
  aliases: z.array(z.string()),
  rule: z.enum(RULE_NAMES),
  message: z.string(),
  fix: z.string(),
}).openapi('ComplianceFinding');

const Report = z.object({
  standard: z.string(),
  description: z.string(),
  scanned: z.number().int().openapi({ description: 'Keys this page looked at (destroyed keys are skipped)' }),
  findings: z.array(Finding),
  nextCursor: z.string().nullable(),
}).openapi('ComplianceReport');

const route = defineRoute({
  method: 'get', path: '/v1/compliance', tags: ['governance'], operationId: 'getCompliance', summary: 'Report keys that break the governance rules',
  request: { query: Query },
  responses: { 200: json(Report, 'A page of the report'), ...errorResponses },
}, 'gateway');

export function registerCompliance(app: App) {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const { keys, governance } = c.get('services');
    const rules = governance.standard(q.standard);
    const page = q.key ? { keys: [await keys.find(q.key)], next: undefined } : await keys.list({}, q.limit, BY_ID, keyAfter(q.cursor, BY_ID));
    const live = page.keys.filter((g) => g.key.state !== 'DESTROYED');
    const findings = (await Promise.all(live.map(async (g) => (await governance.check(governance.facts(g), undefined, rules))
      .map((v) => ({ keyId: g.key.id, aliases: g.aliases, rule: v.rule, message: v.message, fix: v.fix }))))).flat();
    return c.json({ standard: rules.name, description: rules.description, scanned: live.length, findings, nextCursor: keyCursor(page.next, BY_ID) }, 200);
  });
}
