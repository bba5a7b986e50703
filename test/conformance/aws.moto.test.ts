// Conformance of the `aws` provider against a real AWS KMS emulator: moto's server, started by
// deploy/moto.sh (deploy/test.sh does it). Any endpoint in AWS_ENDPOINT_URL works the same, e.g.
// LocalStack's. Never a real AWS account: without an endpoint this file fails rather than reach out.
import { awsOpenNative } from '../support/native.ts';
import { conformance } from './scenarios.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');

/** moto serves its own API beside KMS's (LocalStack and AWS do not): its gaps are in exceptions.ts. */
const moto = await fetch(new URL('/moto-api/data.json', endpoint)).then((r) => r.ok, () => false);

conformance({
  openNative: awsOpenNative(endpoint, process.env.AWS_REGION ?? 'us-east-1'),
  provider: 'aws',
  emulator: moto ? 'moto' : undefined,
  connection: 'aws-emulator',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'aws-emulator', provider: 'aws', region: process.env.AWS_REGION ?? 'us-east-1', endpoint }] },
});
