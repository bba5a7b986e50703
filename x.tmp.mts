import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import { gcpKmsFixture, serviceAccountJson } from './test/fixtures/gcp-kms.ts';
import { GcpKmsProvider } from './providers/gcpkms/index.ts';
import { newGcpKmsClient } from './providers/gcpkms/client.ts';
import { wrapForImporter } from './src/crypto/keywrap.ts';
import { newKeyPairSync } from './src/crypto/keypair.ts';
const server = setupServer(...gcpKmsFixture().handlers);
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'sa.json');
writeFileSync(credentials, serviceAccountJson());
process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;
server.listen({ onUnhandledRequest: 'error' });
const p = new GcpKmsProvider(newGcpKmsClient(), { project: 'kmsgw-test', location: 'europe-west1', keyRing: 'r', protectionLevel: 'HSM' }, 10);
const kp = newKeyPairSync({ type: 'rsa', modulusLength: 2048 });
try {
  console.log(await p.importKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT', exportable: false, keyId: 'key_x', wrap: async (t) => wrapForImporter(t.wrappingKey, t.scheme, kp.pkcs8) }));
} catch (e: any) { console.log(e); }
server.close();
