// The DR drill: with one connection taken away, can every key still be used? Key by key it finds
// the bindings that remain and proves one of them with a live round trip through its provider (a
// DEK wrapped and unwrapped, a MAC, a public key), never touching the connection under test.
import { randomBytes } from 'node:crypto';
import { KmsError, needs } from '../errors.ts';
import { BY_ID, heldVersion, isMade, listKeyIds, loadKeyGraphs, type After, type BindingGraph, type KeyGraph } from '../db/queries/keys.ts';
import type { Db } from '../db/client.ts';
import type { Connections } from '../routing/connection.ts';
import { isKeyWrapper, isMacer, isSigner, withCapability } from '../../providers/provider.ts';

export interface DrillFinding {
  keyId: string;
  spec: string;
  usage: string;
  verdict: 'usable' | 'at-risk';
  /** The connection that proved the key usable. */
  via?: string;
  reason: string;
  /** What to do about a key at risk. */
  fix?: string;
}

const PAGE = 500;
const PROBE_AAD = Buffer.from('kmsgw dr drill');

export async function drill(db: Db, connections: Connections, without: string, progress?: (checked: number) => void): Promise<DrillFinding[]> {
  connections.get(without);
  const findings: DrillFinding[] = [];
  for (let after: After | undefined; ;) {
    const ids = await listKeyIds(db, {}, BY_ID, after, PAGE);
    if (ids.length === 0) break;
    for (const graph of await loadKeyGraphs(db, ids)) {
      if (graph.key.state === 'DESTROYED') continue;
      findings.push(await check(graph, connections, without));
      progress?.(findings.length);
    }
    after = { id: ids.at(-1)!, value: null };
  }
  return findings;
}

const SAME_MATERIAL_FIX = 'replicas of this usage hold the key\'s own material: create the key exportable, on a connection that exports, with replicas on connections that import (the local keystore, an HSM)';

async function check(graph: KeyGraph, connections: Connections, without: string): Promise<DrillFinding> {
  const { key } = graph;
  const base = { keyId: key.id, spec: key.spec, usage: key.usage };
  const remaining = graph.bindings.filter((b) => b.connection !== without);
  if (remaining.length === 0) {
    return {
      ...base, verdict: 'at-risk', reason: `every binding is on "${without}"`,
      fix: key.usage === 'ENCRYPT_DECRYPT' ? 'create it with replicas on other connections (or re-create and re-encrypt)' : SAME_MATERIAL_FIX,
    };
  }
  // A signing, MAC or wrapping key works where its own material is: the primary and same-material
  // replicas. An envelope opens with any binding.
  const candidates = key.usage === 'ENCRYPT_DECRYPT' ? remaining : remaining.filter((b) => b.role === 'primary' || b.sameMaterial);
  if (candidates.length === 0) {
    return { ...base, verdict: 'at-risk', reason: `the primary is on "${without}" and its replicas hold other material`, fix: SAME_MATERIAL_FIX };
  }
  const failures: string[] = [];
  for (const b of candidates) {
    try {
      await probe(graph, b, connections);
      return { ...base, verdict: 'usable', via: b.connection, reason: `${b.role} binding answered a live ${key.usage} round trip` };
    } catch (err) {
      failures.push(`${b.connection}: ${err instanceof KmsError ? err.message : String(err)}`);
    }
  }
  return { ...base, verdict: 'at-risk', reason: `no remaining binding answered (${failures.join('; ')})`, fix: 'check the remaining connections\' health (GET /v1/connections)' };
}

/** One live use of the binding's current version, the cheapest that proves its material works. */
async function probe(graph: KeyGraph, b: BindingGraph, connections: Connections): Promise<void> {
  const { key } = graph;
  needs(isMade(b), 'FAILED_PRECONDITION', 'the replica is still being made by the key\'s sync job');
  const held = heldVersion(b, key.currentVersion);
  needs(held, 'FAILED_PRECONDITION', `version ${key.currentVersion} is missing on this binding`);
  const r = { ...held, spec: key.spec };
  const connection = connections.get(b.connection);
  const dek = randomBytes(32);
  const same = (x: Uint8Array) => needs(Buffer.from(x).equals(dek), 'INTERNAL', 'the round trip gave back other bytes');
  switch (key.usage) {
    case 'ENCRYPT_DECRYPT': {
      const wrapped = await connection.call('encrypt', (p) => p.encrypt({ ...r, plaintext: dek, aad: PROBE_AAD }));
      same(await connection.call('decrypt', (p) => p.decrypt({ ...r, ciphertext: wrapped, aad: PROBE_AAD })));
      return;
    }
    case 'WRAP_UNWRAP': {
      // OAEP with SHA-1: the one every RSA backend has (SoftHSM2 has no SHA-256 OAEP).
      const algorithm = key.spec === 'AES_256' ? 'AES_KEY_WRAP_PAD' : 'RSAES_OAEP_SHA_1';
      const wrapped = await connection.call('wrapKey', (p) => withCapability(p, isKeyWrapper, 'wrap').wrapKey({ ...r, algorithm, key: dek }));
      same(await connection.call('unwrapKey', (p) => withCapability(p, isKeyWrapper, 'unwrap').unwrapKey({ ...r, algorithm, wrappedKey: wrapped })));
      return;
    }
    case 'MAC':
      await connection.call('mac', (p) => withCapability(p, isMacer, 'MAC').mac({ ...r, message: dek }));
      return;
    case 'SIGN_VERIFY':
      await connection.call('getPublicKey', (p) => withCapability(p, isSigner, 'sign').getPublicKey(r));
  }
}
