// The operator commands' way to the gateway: its HTTP API, at KMSGW_URL with the API key in
// KMSGW_API_KEY (or the file KMSGW_API_KEY_FILE names): never an argument, which `ps` would show.
// Failures end the process with an exit status scripts can rely on (EXIT), the gateway's problem
// detail on stderr.
import { readFileSync } from 'node:fs';

export const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) { super(message); }
}

function apiKey(): string {
  const file = process.env.KMSGW_API_KEY_FILE;
  const key = file ? readFileSync(file, 'utf8').trim() : process.env.KMSGW_API_KEY;
  if (!key) throw new CliError('no API key: set KMSGW_API_KEY, or KMSGW_API_KEY_FILE to a file holding it', EXIT.usage);
  return key;
}

/** `name=value` arguments (tags, encryption context) as an object; none when there are none. */
export function pairs(flag: string, values: string[] = []): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  return Object.fromEntries(values.map((p) => {
    const at = p.indexOf('=');
    if (at < 1) throw new CliError(`${flag} "${p}" must be name=value`, EXIT.usage);
    return [p.slice(0, at), p.slice(at + 1)];
  }));
}

/** The header that presents an approved request (--approval), where policy makes an operation wait for approvals. */
export const approval = (o: { approval?: string }): Record<string, string> => (o.approval ? { 'kmsgw-approval': o.approval } : {});

/** Calls the gateway; answers the response of a success, throws CliError otherwise. */
export async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const base = process.env.KMSGW_URL ?? 'http://127.0.0.1:8080';
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${apiKey()}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`the gateway at ${base} cannot be reached (${(err as Error).cause ?? (err as Error).message}); set KMSGW_URL`, EXIT.unavailable);
  }
  if (!res.ok) {
    const problem = await res.json().catch(() => undefined) as { detail?: string; code?: string } | undefined;
    throw new CliError(`${res.status} ${problem?.code ?? res.statusText}: ${problem?.detail ?? 'no detail'}`, res.status >= 500 ? EXIT.unavailable : EXIT.refused);
  }
  return res;
}

export async function callJson<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await call(method, path, body, headers)).json() as Promise<T>;
}

/** Runs a command's action, turning its CliError into a message and an exit status. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      console.error(`kmsgw: ${err.message}`);
      process.exitCode = err.exitCode;
    }
  };
}
