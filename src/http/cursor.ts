// Page cursors over key ids: opaque to clients, checked on the way back in.
import { KmsError } from '../errors.ts';

export const keyCursor = (id: string | undefined): string | null => (id ? Buffer.from(id).toString('base64url') : null);

export function keyAfter(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^key_[0-9a-z]{26}$/.test(id)) throw new KmsError('INVALID_ARGUMENT', 'cursor is not one this API returned', { field: 'cursor' });
  return id;
}
