// A moto server of the test's own, on a free loopback port, so that it can be stopped and started
// without touching the shared emulator. deploy/moto.sh server installs it; deploy/test.sh exports
// its path as KMSGW_MOTO_SERVER.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.ts';

export interface Moto {
  endpoint: string;
  /** SIGSTOP: the process is frozen with its keys; connections are accepted and never answered, like a cloud gone dark. */
  freeze(): void;
  /** SIGCONT: it answers again, with every key it held. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const program = process.env.KMSGW_MOTO_SERVER;
  if (!program) throw new Error('KMSGW_MOTO_SERVER is not set: run the suite with deploy/test.sh, which installs moto (deploy/moto.sh server)');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(program, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    if (await answers(endpoint)) break;
    if (i === 150 || child.exitCode !== null) throw new Error(`moto did not start on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    freeze: () => { child.kill('SIGSTOP'); },
    thaw: () => { child.kill('SIGCONT'); },
    async close() {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** moto's server picks the service from a signature's credential scope (moto.sh says why the probe has one). */
const KMS_SCOPE = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0';

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/`, { method: 'POST', headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1', authorization: KMS_SCOPE }, body: '{}' });
    return res.ok;
  } catch {
    return false;
  }
}
