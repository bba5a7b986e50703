// GET /openapi.json (generated from the routes' own schemas) and /docs (Swagger UI, served from
// the swagger-ui-dist package so the page works with no internet).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { App } from '../../app.ts';

const assets = join(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'), '..');
const files: Record<string, string> = { 'swagger-ui.css': 'text/css', 'swagger-ui-bundle.js': 'text/javascript' };

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kms-gateway API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;

export function registerDocs(app: App) {
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'kms-gateway', version: '1', description: 'One key API in front of AWS KMS, Azure Key Vault, Google Cloud KMS, PKCS#11 HSMs and an embedded keystore.' },
  });
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/:file', (c) => {
    const type = files[c.req.param('file')];
    if (!type) return c.notFound();
    return c.body(readFileSync(join(assets, c.req.param('file'))), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
}
