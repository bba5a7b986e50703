// The narrow client port the adapter uses, and the real one: @azure/keyvault-keys on the vault URL,
// with credentials from @azure/identity's default chain (environment, workload identity, managed
// identity, Azure CLI). The SDK's own retries are off: the gateway retries once, for every provider.
import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient, type CreateKeyOptions, type KeyClientOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import type { TokenCredential } from '@azure/identity';

export type KeyVaultPort = Pick<KeyClient, 'createKey' | 'getKey' | 'getCryptographyClient' | 'beginDeleteKey' | 'purgeDeletedKey'
  | 'listPropertiesOfKeys' | 'listPropertiesOfKeyVersions' | 'listDeletedKeys' | 'getDeletedKey' | 'getKeyRotationPolicy' | 'updateKeyProperties' | 'importKey'>;
export type { CreateKeyOptions, KeyVaultKey };

export interface AzureConnectionOptions { vaultUrl: string; credential?: TokenCredential; requestTimeoutMs?: number }

/** Longer than any attempt the gateway waits for by default (a key generation's 60 s). */
const REQUEST_TIMEOUT_MS = 60_000;

type PipelinePolicy = NonNullable<KeyClientOptions['additionalPolicies']>[number]['policy'];

/**
 * Cancels a request its vault has not answered in `ms`, freeing its keep-alive socket. The SDK waits
 * forever by default, and the gateway stops waiting at its own deadline without cancelling: a dark
 * endpoint would hold a socket for every call made to it.
 */
const requestTimeout = (ms: number): PipelinePolicy => ({
  name: 'kmsgwRequestTimeout',
  sendRequest: (request, next) => {
    request.timeout ||= ms;
    return next(request);
  },
});

export function newKeyVaultClient(options: AzureConnectionOptions): KeyClient {
  return new KeyClient(options.vaultUrl, options.credential ?? new DefaultAzureCredential(), {
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy: requestTimeout(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS), position: 'perCall' }],
  });
}
