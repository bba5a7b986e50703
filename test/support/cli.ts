// The kmsgw command as an operator runs it: a process of its own, with its exit status and output.
import { spawn } from 'node:child_process';

export interface CliRun { code: number; stdout: Buffer; stderr: string }

export function runKmsgw(args: string[], env: Record<string, string | undefined>, stdin?: Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/kmsgw.ts', ...args], { env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(stdin);
  });
}
