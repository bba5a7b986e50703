// The narrow client port the adapter uses, and the real one: @google-cloud/kms over its HTTP/1.1
// REST transport (the one transport the suite can exercise: no Cloud KMS emulator exists), with
// credentials from Application Default Credentials. google-gax's own retries are turned off per
// call: the gateway retries once, for every provider.
import { KeyManagementServiceClient } from '@google-cloud/kms';

export type GcpKmsPort = Pick<KeyManagementServiceClient,
  'createCryptoKey' | 'createCryptoKeyVersion' | 'getCryptoKeyVersion' | 'encrypt' | 'decrypt' | 'asymmetricSign' | 'asymmetricDecrypt'
  | 'getPublicKey' | 'macSign' | 'macVerify' | 'destroyCryptoKeyVersion' | 'listCryptoKeys' | 'listCryptoKeyVersions' | 'getCryptoKey' | 'updateCryptoKey'
  | 'createImportJob' | 'getImportJob' | 'importCryptoKeyVersion'>;

export interface GcpConnectionOptions { endpoint?: string }

export function newGcpKmsClient(options: GcpConnectionOptions = {}): KeyManagementServiceClient {
  return new KeyManagementServiceClient({ fallback: true, ...(options.endpoint && { apiEndpoint: options.endpoint }) });
}

/** Per-call options: no retries of google-gax's own. */
export const once = { retry: { retryCodes: [] } };
