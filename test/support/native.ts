// Each cloud's own SDK, straight at the endpoint a connection talks to, opening a native ciphertext
// the gateway made: what a caller does when it goes around the gateway.
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DefaultAzureCredential } from '@azure/identity';
import { CryptographyClient } from '@azure/keyvault-keys';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { contextDigest } from '../../src/crypto/envelope.ts';
import type { Harness } from '../conformance/scenarios.ts';

type OpenNative = NonNullable<Harness['openNative']>;
const hasContext = (context: Record<string, string>) => Object.keys(context).length > 0;

export const awsOpenNative = (endpoint: string, region: string): OpenNative => {
  const kms = new KMSClient({ endpoint, region });
  return async ({ versionRef, spec, ciphertext, context }) => {
    const out = await kms.send(new DecryptCommand({
      KeyId: versionRef.slice('aws:'.length), CiphertextBlob: ciphertext,
      ...(spec.startsWith('RSA_') ? { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' } : hasContext(context) ? { EncryptionContext: context } : {}),
    }));
    return Buffer.from(out.Plaintext!);
  };
};

/** Cloud KMS binds bytes: the AAD is the context's digest (docs/envelope.md), as the providers README says. */
export const gcpOpenNative = (): OpenNative => {
  const kms = new KeyManagementServiceClient({ fallback: true });
  return async ({ versionRef, spec, ciphertext, context }) => {
    const version = versionRef.slice('gcp:'.length);
    if (spec.startsWith('RSA_')) return Buffer.from((await kms.asymmetricDecrypt({ name: version, ciphertext }))[0].plaintext as Uint8Array);
    const [out] = await kms.decrypt({ name: version.replace(/\/cryptoKeyVersions\/\d+$/, ''), ciphertext, ...(hasContext(context) && { additionalAuthenticatedData: contextDigest(context) }) });
    return Buffer.from(out.plaintext as Uint8Array);
  };
};

export const azureOpenNative = (): OpenNative => async ({ versionRef, ciphertext }) => {
  const { result } = await new CryptographyClient(versionRef.slice('azure:'.length), new DefaultAzureCredential()).unwrapKey('RSA-OAEP-256', ciphertext);
  return Buffer.from(result);
};
