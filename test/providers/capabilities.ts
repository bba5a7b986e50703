// Every provider's capabilities, read from real instances (their clients are never called).
import type { Capabilities } from '../../providers/provider.ts';
import { AwsKmsProvider } from '../../providers/awskms/index.ts';
import { LocalProvider } from '../../providers/local/index.ts';
import type { RootKeyring } from '../../providers/local/rootkeys.ts';
import type { MaterialStore } from '../../providers/local/index.ts';
import type { KmsPort } from '../../providers/awskms/client.ts';
import { Pkcs11Provider } from '../../providers/pkcs11/index.ts';
import { AzureKeyVaultProvider } from '../../providers/azurekeyvault/index.ts';
import { GcpKmsProvider } from '../../providers/gcpkms/index.ts';
import type { GcpKmsPort } from '../../providers/gcpkms/client.ts';
import type { KeyVaultPort } from '../../providers/azurekeyvault/client.ts';

export function providerCapabilities(): Record<string, Capabilities> {
  return {
    local: new LocalProvider({} as RootKeyring, {} as MaterialStore).capabilities,
    aws: new AwsKmsProvider({} as KmsPort).capabilities,
    azure: new AzureKeyVaultProvider({} as KeyVaultPort, 'https://example.vault.azure.net').capabilities,
    // At protection level HSM, which adds secp256k1.
    gcp: new GcpKmsProvider({} as GcpKmsPort, { project: 'example', location: 'global', keyRing: 'r', protectionLevel: 'HSM' }).capabilities,
    // Constructing it opens nothing: the token is opened on first use.
    pkcs11: new Pkcs11Provider({ module: '/nonexistent', token: 'none', sessions: 1, pin: () => '' }).capabilities,
  };
}
