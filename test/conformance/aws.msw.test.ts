// Conformance of the `aws` provider over mocked HTTP: the AWS KMS wire fixture (test/fixtures/aws-kms.ts)
// stands where the cloud would be; nothing leaves the process.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { awsKmsFixture } from '../fixtures/aws-kms.ts';
import { awsOpenNative } from '../support/native.ts';
import { conformance } from './scenarios.ts';

const endpoint = 'https://kms.eu-west-1.amazonaws.com';
const server = setupServer(awsKmsFixture(endpoint, 'eu-west-1').handler);
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

conformance({
  openNative: awsOpenNative(endpoint, 'eu-west-1'),
  provider: 'aws',
  connection: 'aws-msw',
  config: { connections: [{ name: 'local', provider: 'local' }, { name: 'aws-msw', provider: 'aws', region: 'eu-west-1', endpoint }] },
});
