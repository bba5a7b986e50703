// GET /ui — the web UI: static files from src/ui and Chart.js from its package, as they are (no
// build step). The page itself is public; everything it shows comes from the /v1 API with the
// user's own API key, under the same authentication and policy as any client.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from '../../app.ts';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../ui');
const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

const file = (path: string, type: string) => ({ body: readFileSync(path), type: `${type}; charset=utf-8` });
const files: Record<string, ReturnType<typeof file>> = {
  '': file(join(here, 'index.html'), 'text/html'),
  'app.js': file(join(here, 'app.js'), 'text/javascript'),
  'style.css': file(join(here, 'style.css'), 'text/css'),
  'chart.umd.js': file(chartJs, 'text/javascript'),
};

const headers = (type: string) => ({
  'Content-Type': type,
  // Only this origin's scripts and styles; the page frames nothing and is framed by nobody.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
});

export function registerUi(app: App) {
  app.get('/ui', (c) => c.redirect('/ui/'));
  app.get('/ui/:file{.*}', (c) => {
    const found = files[c.req.param('file')];
    if (!found) return c.notFound();
    return c.body(found.body, 200, headers(found.type));
  });
}
