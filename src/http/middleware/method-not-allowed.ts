// A not-found handler that answers 405 with Allow when the path exists under other methods.
import type { Context } from 'hono';
import { KmsError } from '../../errors.ts';
import { problemResponse } from '../problem.ts';

export function methodNotAllowed(options: { routes: () => { method: string; path: string }[] }) {
  let compiled: { method: string; pattern: RegExp }[] | undefined;
  return function methodNotAllowedHandler(c: Context): Response {
    compiled ??= options.routes()
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({ method: r.method, pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}$`) }));
    const path = c.req.path.replace(/^\/v1\/keys\/alias\//, '/v1/keys/alias%2F');
    const allowed = [...new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      return problemResponse(c, new KmsError('INVALID_ARGUMENT', `method ${c.req.method} is not allowed here; use ${allowed.join(', ')}`, { status: 405 }), { Allow: allowed.join(', ') });
    }
    return problemResponse(c, new KmsError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
  };
}
