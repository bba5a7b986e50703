// Conformance of the `azure` provider over mocked HTTP: the Key Vault and Entra ID wire fixture
// (test/fixtures/azure-keyvault.ts) stands where the cloud would be, and the real credential chain
// (@azure/identity's environment credential, a client secret) gets its token from it. Nothing
// leaves the process. No Key Vault emulator is published on the registries this project reaches.
//
// It runs twice: on a standard vault, and on a Premium vault with HSM-protected keys
// (protectionLevel HSM). There keys are RSA-HSM and EC-HSM and material comes in by BYOK: the import
// scenario copies keys made on the SoftHSM2 token, which wraps their material itself
// (CKM_RSA_AES_KEY_WRAP) for the vault's key exchange key, so it is never in the clear outside an HSM.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureKeyVaultFixture, TENANT } from '../fixtures/azure-keyvault.ts';
import { azureOpenNative } from '../support/native.ts';
import { softhsmConnection } from '../support/softhsm.ts';
import { conformance } from './scenarios.ts';

const vaultUrl = 'https://kmsgw-conformance.vault.azure.net';
const premiumUrl = 'https://kmsgw-conformance-hsm.vault.azure.net';
const premium = azureKeyVaultFixture(premiumUrl, { premium: true });
const server = setupServer(...azureKeyVaultFixture(vaultUrl).handlers, ...premium.handlers);
Object.assign(process.env, { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000bb', AZURE_CLIENT_SECRET: 'fixture-secret' });

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

conformance({
  openNative: azureOpenNative(),
  provider: 'azure',
  connection: 'azure-msw',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'azure-msw', provider: 'azure', vaultUrl }] },
});

conformance({
  openNative: azureOpenNative(),
  provider: 'azure',
  connection: 'azure-hsm-msw',
  source: 'hsm',
  config: { connections: [{ name: 'local', provider: 'local' }, softhsmConnection('hsm'), { name: 'azure-hsm-msw', provider: 'azure', vaultUrl: premiumUrl, protectionLevel: 'HSM' }] },
});

describe('HSM protection (the Premium vault\'s run)', () => {
  it('every key the gateway made in the vault is HSM-protected, and every import came by BYOK under one key exchange key', () => {
    const { keys, imports } = premium.state;
    const kek = keys.get('kmsgw-key-exchange');
    expect(kek).toHaveLength(1);
    expect(kek![0]).toMatchObject({ spec: 'RSA_4096', ops: ['import'], hsm: true });
    const made = [...keys].filter(([name]) => name !== 'kmsgw-key-exchange').flatMap(([, versions]) => versions);
    expect(made.length).toBeGreaterThan(10);
    expect(made.filter((v) => !v.hsm)).toEqual([]);
    expect(imports.byok).toBeGreaterThan(0);
    expect(imports.jwk).toBe(0);
  });
});
