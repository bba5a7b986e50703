// The policy id path parameter.
import { z } from '@hono/zod-openapi';
import { POLICY_ID } from '../../../policy/store.ts';

export const PolicyIdParam = z.object({
  id: z.string().regex(POLICY_ID, '1-63 lowercase letters, digits, _ and -').openapi({ param: { name: 'id', in: 'path' }, example: 'payments-team-uses-payment-keys' }),
});
