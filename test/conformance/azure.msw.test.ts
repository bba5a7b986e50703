// Conformance of the `azure` provider over mocked HTTP: the Key Vault and Entra ID wire fixture
// (test/fixtures/azure-keyvault.ts) stands where the cloud would be, and the real credential chain
// (@azure/identity's environment credential, a client secret) gets its token from it. Nothing
// leaves the process. No Key Vault emulator is published on the registries this project reaches.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { azureKeyVaultFixture, TENANT } from '../fixtures/azure-keyvault.ts';
import { azureOpenNative } from '../support/native.ts';
import { conformance } from './scenarios.ts';

const vaultUrl = 'https://kmsgw-conformance.vault.azure.net';
const server = setupServer(...azureKeyVaultFixture(vaultUrl).handlers);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

conformance({
  openNative: azureOpenNative(),
  provider: 'azure',
  connection: 'azure-msw',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'azure-msw', provider: 'azure', vaultUrl }] },
});
