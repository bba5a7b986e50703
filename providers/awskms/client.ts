// The narrow client port the adapter uses (one `send`), and the real client: the official SDK on a
// keep-alive agent, credentials from the SDK's default chain, an endpoint override for emulators.
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export type KmsPort = Pick<KMSClient, 'send'>;

export interface AwsConnectionOptions { region: string; endpoint?: string }

export function newKmsClient(options: AwsConnectionOptions): KMSClient {
  return new KMSClient({
    region: options.region,
    endpoint: options.endpoint,
    // The gateway retries and breaks circuits itself, once for every provider.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: 2_000,
      // The gateway stops waiting at its own timeout; this frees the socket of a request a dark
      // endpoint never answers (without it the SDK only warns, and the pool fills with dead sockets).
      requestTimeout: 10_000,
      throwOnRequestTimeout: true,
    }),
  });
}
