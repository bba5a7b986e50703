// The narrow client port the adapter uses, and the real one: @azure/keyvault-keys on the vault URL,
// with credentials from @azure/identity's default chain (environment, workload identity, managed
// identity, Azure CLI). The SDK's own retries are off: the gateway retries once, for every provider.
import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient, type CreateKeyOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import type { TokenCredential } from '@azure/identity';

export type KeyVaultPort = Pick<KeyClient, 'createKey' | 'getKey' | 'getCryptographyClient' | 'beginDeleteKey' | 'purgeDeletedKey'
  | 'listPropertiesOfKeys' | 'listPropertiesOfKeyVersions' | 'listDeletedKeys' | 'getDeletedKey' | 'getKeyRotationPolicy' | 'updateKeyProperties' | 'importKey'>;
export type { CreateKeyOptions, KeyVaultKey };

export interface AzureConnectionOptions { vaultUrl: string; credential?: TokenCredential }

export function newKeyVaultClient(options: AzureConnectionOptions): KeyClient {
  return new KeyClient(options.vaultUrl, options.credential ?? new DefaultAzureCredential(), {
    retryOptions: { maxRetries: 0 },
  });
}
