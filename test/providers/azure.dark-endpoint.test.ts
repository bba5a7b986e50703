// A vault endpoint that takes connections and never answers (a frozen proxy, a black-holed route):
// the Key Vault client cancels each request at its request timeout and closes its socket, where
// the SDK on its own would wait forever and keep one socket per call. A real TCP server on
// loopback, no msw: what is under test is the socket.
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newKeyVaultClient } from '../../providers/azurekeyvault/client.ts';
import { azureErrorCode } from '../../providers/azurekeyvault/errors.ts';

const open = new Set<Socket>();
// It reads what comes (so that it sees the client's close) and answers nothing.
const server = createServer((socket) => {
  socket.resume();
  open.add(socket);
  socket.on('close', () => open.delete(socket));
});
let vaultUrl: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vaultUrl = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const credential = { getToken: async () => ({ token: 'unused', expiresOnTimestamp: Date.now() + 3_600_000 }) };

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('a request the endpoint never answers fails at the request timeout as DEADLINE_EXCEEDED, and its socket is closed', async () => {
  const client = newKeyVaultClient({ vaultUrl, credential, requestTimeoutMs: 300 });
  const calls = [client.getKey('a'), client.getKey('b'), client.getKey('c')].map((p) => p.then(() => undefined, (err: unknown) => err));
  await until(() => open.size === 3);
  const errors = await Promise.all(calls);
  expect(errors.map(azureErrorCode)).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
  await until(() => open.size === 0);
});
