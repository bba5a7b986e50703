// Conformance of the `aws` provider against a real AWS KMS emulator: moto's server, started by
// deploy/moto.sh (deploy/test.sh does it). Any endpoint in AWS_ENDPOINT_URL works the same, e.g.
// LocalStack's. Never a real AWS account: without an endpoint this file fails rather than reach out.
import { conformance } from './scenarios.ts';

const endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) throw new Error('AWS_ENDPOINT_URL is not set: run the suite with deploy/test.sh, which starts the moto emulator');

conformance({
  provider: 'aws',
  connection: 'aws-emulator',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'aws-emulator', provider: 'aws', region: process.env.AWS_REGION ?? 'us-east-1', endpoint }] },
});
