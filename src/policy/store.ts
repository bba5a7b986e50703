// Changes to the stored policy set: each is checked (one policy, its @id the one named, not a
// shipped id, valid against the schema together with the set in force) before a new version is
// written, and every instance then reloads the set. Just-in-time grants are generated policies
// whose condition ends them at their expiry, so they lapse without anyone acting.
import { KmsError, needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { currentPolicy, insertPolicyVersion, type PolicyRow } from '../db/queries/policies.ts';
import { POLICY_CHANNEL, type Access } from './access.ts';
import { splitPolicies } from './engine.ts';

export const POLICY_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** A principal a grant may name; no quote or backslash can reach the generated Cedar text. */
export const PRINCIPAL = /^[A-Za-z0-9_.:@|/=+-]{1,256}$/;

export const MAX_GRANT_DAYS = 30;

export class PolicyStore {
  constructor(private readonly db: Db, private readonly access: Access) {}

  async put(id: string, text: string, description: string, by: string): Promise<PolicyRow> {
    needs(POLICY_ID.test(id), 'INVALID_ARGUMENT', 'a policy id is 1-63 lowercase letters, digits, _ and -', { field: 'id' });
    needs(!this.access.engine.shippedIds.includes(id), 'FAILED_PRECONDITION', `"${id}" is a shipped policy; it changes with a release, not through the API (add a forbid to narrow it)`);
    const parsed = splitPolicies(text, 'text');
    const ids = Object.keys(parsed);
    needs(ids.length === 1, 'INVALID_ARGUMENT', `text must hold exactly one policy, not ${ids.length}`, { field: 'text' });
    needs(ids[0] === id, 'INVALID_ARGUMENT', `the policy's @id("${ids[0]}") must be the id in the path, "${id}"`, { field: 'text' });
    this.assertValid(id, text);
    return this.write({ id, kind: 'policy', description, text, createdBy: by });
  }

  async remove(id: string, by: string): Promise<PolicyRow> {
    const current = await currentPolicy(this.db, id);
    needs(current && !current.removed, 'NOT_FOUND', `policy "${id}" not found`);
    return this.write({ id, kind: current.kind, description: current.description, text: current.text, removed: true, expiresAt: current.expiresAt, createdBy: by });
  }

  /** A time-boxed permission for one principal on one key. */
  async grant(input: { principal: string; keyId: string; actions: string[]; expiresAt: Date; reason: string; by: string }): Promise<PolicyRow> {
    const now = Date.now();
    needs(PRINCIPAL.test(input.principal), 'INVALID_ARGUMENT', 'principal must be a principal id (ak_…, oidc:…, mtls:…)', { field: 'principal' });
    needs(input.expiresAt.getTime() > now, 'INVALID_ARGUMENT', 'expiresAt must be in the future', { field: 'expiresAt' });
    needs(input.expiresAt.getTime() - now <= MAX_GRANT_DAYS * 86_400_000, 'INVALID_ARGUMENT', `a grant lasts at most ${MAX_GRANT_DAYS} days`, { field: 'expiresAt' });
    const id = newId('pol');
    const actions = [...new Set(input.actions)].map((a) => `KmsGw::Action::"${a}"`).join(', ');
    const text = `@id("${id}")\npermit (\n  principal == KmsGw::Principal::"${input.principal}",\n  action in [${actions}],\n  resource == KmsGw::Key::"${input.keyId}"\n)\nwhen { context.now < ${Math.floor(input.expiresAt.getTime() / 1000)} };`;
    this.assertValid(id, text);
    return this.write({ id, kind: 'grant', description: input.reason, text, expiresAt: input.expiresAt, createdBy: input.by });
  }

  private assertValid(id: string, text: string): void {
    // Cedar validates each policy on its own against the schema: the rest of the set cannot make this one invalid.
    const errors = this.access.engine.validate({ [id]: text });
    if (errors.length > 0) throw new KmsError('INVALID_ARGUMENT', `policy does not validate against the schema: ${errors.join('; ')}`, { field: 'text' });
  }

  private async write(row: Parameters<typeof insertPolicyVersion>[1]): Promise<PolicyRow> {
    let written;
    try {
      written = await insertPolicyVersion(this.db, row, POLICY_CHANNEL);
    } catch (err) {
      if (isUniqueViolation(err)) throw new KmsError('FAILED_PRECONDITION', `policy "${row.id}" was changed concurrently; retry`, { cause: err });
      throw err;
    }
    await this.access.reload();
    return written;
  }
}
