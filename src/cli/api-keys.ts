// `kmsgw api-keys create|list|revoke`: API keys managed on the gateway's host, straight in its
// database. This is also the way back in when every administrator key is lost.
import { createApiKey } from '../auth/api-keys.ts';
import { operatorPrincipal } from '../audit/operator.ts';
import { listApiKeys, revokeApiKey } from '../db/queries/api-keys.ts';
import { isKmsError } from '../errors.ts';
import { withDatabase } from './database.ts';

const fail = (message: string) => {
  console.error(`kmsgw: ${message}`);
  process.exitCode = 2;
};

export async function apiKeysCreate(options: { name: string; role: string[]; group?: string[]; expires?: string; json?: boolean }): Promise<void> {
  const expiresAt = options.expires ? new Date(options.expires) : undefined;
  if (expiresAt && Number.isNaN(expiresAt.getTime())) return fail(`--expires "${options.expires}" is not a date`);
  try {
    const { row, secret } = await withDatabase((d) => createApiKey(d.db, { name: options.name, roles: options.role, groups: options.group, expiresAt, createdBy: operatorPrincipal() }));
    if (options.json) console.log(JSON.stringify({ id: row.id, name: row.name, roles: row.roles, secret }, null, 2));
    else console.log(`${row.id} (${row.roles.join(', ')}); its secret, shown only now:\n\n  ${secret}\n`);
  } catch (err) {
    if (isKmsError(err)) return fail(err.message);
    throw err;
  }
}

export async function apiKeysList(options: { json?: boolean }): Promise<void> {
  const rows = await withDatabase((d) => listApiKeys(d.db));
  if (options.json) return console.log(JSON.stringify(rows.map(({ secretHash: _, ...r }) => r), null, 2));
  for (const r of rows) {
    const state = r.revokedAt ? `revoked ${r.revokedAt.toISOString()}` : r.expiresAt ? `expires ${r.expiresAt.toISOString()}` : 'active';
    console.log(`${r.id}  ${r.hint}…  ${r.name}  [${r.roles.join(', ')}]  ${state}  last used ${r.lastUsedAt?.toISOString() ?? 'never'}`);
  }
}

export async function apiKeysRevoke(id: string): Promise<void> {
  const row = await withDatabase((d) => revokeApiKey(d.db, id));
  if (!row) return fail(`API key "${id}" not found`);
  console.log(`${id} revoked`);
}
