// Conformance of the `gcp` provider over mocked HTTP: the Cloud KMS REST fixture
// (test/fixtures/gcp-kms.ts) stands where the cloud would be, and Application Default Credentials
// (a service-account key file made for the run) get their token from it. Nothing leaves the
// process; no Cloud KMS emulator exists.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { gcpKmsFixture, serviceAccountJson } from '../fixtures/gcp-kms.ts';
import { gcpOpenNative } from '../support/native.ts';
import { conformance } from './scenarios.ts';

const server = setupServer(...gcpKmsFixture().handlers);
const credentials = join(mkdtempSync(join(tmpdir(), 'kmsgw-gcp-')), 'service-account.json');
writeFileSync(credentials, serviceAccountJson(), { mode: 0o600 });
process.env.GOOGLE_APPLICATION_CREDENTIALS = credentials;

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

conformance({
  openNative: gcpOpenNative(),
  provider: 'gcp',
  connection: 'gcp-msw',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'gcp-msw', provider: 'gcp', project: 'kmsgw-test', location: 'europe-west1', keyRing: 'conformance', protectionLevel: 'HSM' }] },
});
