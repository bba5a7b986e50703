// GET /v1/connections — the configured connections: provider, what it can do, and its health on
// live traffic (the circuit breaker), so operators see an outage and its failover as it happens.
import { z } from '@hono/zod-openapi';
import { defineRoute } from '../../operation.ts';
import type { App } from '../../app.ts';
import { Algorithm, errorResponses, json, Spec, Usage } from '../../schemas.ts';

const ConnectionView = z.object({
  name: z.string(),
  provider: z.string(),
  default: z.boolean(),
  circuit: z.enum(['closed', 'open', 'half-open']).openapi({ description: '`open`: calls fail at once after repeated failures (decrypt uses replicas); `half-open`: one call tests the provider' }),
  capabilities: z.object({
    specs: z.array(Spec), usages: z.array(Usage), signingAlgorithms: z.array(Algorithm),
    signing: z.enum(['any', 'per-key']), rotation: z.enum(['versions', 'new-key']), deletion: z.enum(['gateway', 'provider']),
  }),
}).openapi('Connection');

const route = defineRoute({
  method: 'get', path: '/v1/connections', tags: ['connections'], operationId: 'listConnections', summary: 'List connections and their health',
  responses: { 200: json(z.object({ connections: z.array(ConnectionView) }), 'The connections'), ...errorResponses },
}, 'gateway');

export function registerListConnections(app: App) {
  app.openapi(route, (c) => {
    const all = c.get('services').connections;
    return c.json({
      connections: all.all().map((x) => ({
        name: x.name, provider: x.provider.kind, default: x.name === all.defaultName, circuit: x.circuit,
        capabilities: { ...x.provider.capabilities, specs: [...x.provider.capabilities.specs], usages: [...x.provider.capabilities.usages], signingAlgorithms: [...x.provider.capabilities.signingAlgorithms] },
      })),
    }, 200);
  });
}
