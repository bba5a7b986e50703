// Page cursors over keys: where the previous page ended in the order asked for. Opaque to clients,
// checked on the way back in, and bound to their sort so that a cursor is never read in another.
import { KmsError } from '../errors.ts';
import type { After, Sort } from '../db/queries/keys.ts';

const sortName = (sort: Sort) => `${sort.descending ? '-' : ''}${sort.field}`;

export const keyCursor = (after: After | undefined, sort: Sort): string | null =>
  (after ? Buffer.from(JSON.stringify([sortName(sort), after.id, after.value])).toString('base64url') : null);

export function keyAfter(cursor: string | undefined, sort: Sort): After | undefined {
  if (cursor === undefined) return undefined;
  const invalid = () => new KmsError('INVALID_ARGUMENT', 'cursor is not one this API returned for this sort', { field: 'cursor' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [name, id, value] = parsed as unknown[];
  if (name !== sortName(sort) || typeof id !== 'string' || !/^key_[0-9a-z]{26}$/.test(id) || !(value === null || typeof value === 'string')) throw invalid();
  if (sort.field.endsWith('At') && value !== null && Number.isNaN(Date.parse(value))) throw invalid();
  return { id, value };
}
