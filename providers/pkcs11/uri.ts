// Key references as PKCS#11 URIs (RFC 7512): `pkcs11:token=<label>;object=<gateway key id>` names a
// key, and `…;id=<CKA_ID, percent-encoded>` one version of it (each version is its own object, or
// pair of objects, sharing the key's label). Only these three attributes are accepted.
import { KmsError } from '../../src/errors.ts';

export interface ObjectUri { token: string; object: string; id?: Buffer }

const allowed = new Set(['token', 'object', 'id']);

export function formatUri(u: ObjectUri): string {
  const parts = [`token=${encodeURIComponent(u.token)}`, `object=${encodeURIComponent(u.object)}`];
  if (u.id) parts.push(`id=${[...u.id].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`);
  return `pkcs11:${parts.join(';')}`;
}

export function parseUri(uri: string, expectId: boolean): ObjectUri & { id: Buffer } {
  const bad = (why: string) => new KmsError('INVALID_ARGUMENT', `"${uri}" is not a pkcs11 key reference (${why})`);
  if (!uri.startsWith('pkcs11:')) throw bad('pkcs11:token=…;object=…;id=…');
  const attrs = new Map<string, string>();
  for (const part of uri.slice('pkcs11:'.length).split(';')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    if (eq < 1 || !allowed.has(name) || attrs.has(name)) throw bad(`unexpected attribute "${part.slice(0, 20)}"`);
    attrs.set(name, part.slice(eq + 1));
  }
  const token = attrs.get('token');
  const object = attrs.get('object');
  if (!token || !object) throw bad('token and object are required');
  const id = attrs.get('id');
  if (expectId && !id) throw bad('a version reference needs an id');
  let idBytes = Buffer.alloc(0);
  if (id) {
    if (!/^(%[0-9a-fA-F]{2})+$/.test(id)) throw bad('id must be percent-encoded bytes');
    idBytes = Buffer.from(id.replaceAll('%', ''), 'hex');
  }
  try {
    return { token: decodeURIComponent(token), object: decodeURIComponent(object), id: idBytes };
  } catch {
    throw bad('malformed percent-encoding');
  }
}
