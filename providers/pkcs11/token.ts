// One PKCS#11 token: the module loaded once per process, the slot found by label or id, a pool of
// logged-in sessions each running one operation at a time, and recovery when the token or its
// sessions are lost (the next call re-opens them; the gateway is never restarted for it).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Handle, PKCS11 } from 'pkcs11js';
import { KmsError } from '../../src/errors.ts';

export type Pkcs11Lib = typeof import('pkcs11js');

export interface TokenOptions {
  module: string;
  /** The token's label, or its slot id: exactly one. */
  token?: string;
  slot?: number;
  /** Read when logging in, so the PIN lives in memory no longer than needed. */
  pin: () => string;
  sessions: number;
}

/**
 * Errors after which the token's sessions cannot be trusted: a lost session usually means all
 * are lost (and the login with them), and a re-inserted token may sit in another slot. Every
 * session is dropped and the next call opens the token afresh.
 */
const lost = new Set([
  'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED', 'CKR_OPERATION_ACTIVE', 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_DEVICE_ERROR', 'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_USER_NOT_LOGGED_IN', 'CKR_SLOT_ID_INVALID',
]);

/** The CKR_* name of a PKCS#11 error (pkcs11js puts it first in the message), or undefined. */
export function ckr(err: unknown): string | undefined {
  const m = /^(CKR_[A-Z0-9_]+)/.exec((err as Error)?.message ?? '');
  return m?.[1];
}

let binding: Pkcs11Lib | undefined;
/** pkcs11js is an optional native dependency: only a gateway with a pkcs11 connection needs it. */
export function pkcs11js(): Pkcs11Lib {
  try {
    binding ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11Lib;
  } catch (cause) {
    throw new KmsError('UNAVAILABLE', 'the pkcs11 provider needs the optional package pkcs11js, which is not installed or did not build (npm install pkcs11js)', { cause });
  }
  return binding;
}

/** Modules are process-wide in PKCS#11: every Token on one library shares its initialisation. */
const modules = new Map<string, { lib: PKCS11; users: number }>();

function initialize(lib: PKCS11, p: Pkcs11Lib): void {
  try {
    lib.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw err;
  }
}

export class Token {
  readonly p: Pkcs11Lib;
  private lib?: PKCS11;
  private slotId?: Handle;
  private free: Handle[] = [];
  private opened = 0;
  private waiters: { resolve: (s: Handle) => void; reject: (err: unknown) => void }[] = [];
  private connecting?: Promise<void>;
  private closed = false;
  /** Bumped whenever the token is re-opened: sessions and object handles of an older one are void. */
  generation = 0;
  /** The token's label, known once connected. */
  label?: string;

  constructor(private readonly options: TokenOptions) {
    this.p = pkcs11js();
  }

  /** Runs `fn` on a session of its own; after a lost session or token, the next call re-opens it. */
  async withSession<T>(fn: (lib: PKCS11, session: Handle) => Promise<T>): Promise<T> {
    const session = await this.acquire();
    const generation = this.generation;
    try {
      const result = await fn(this.lib!, session);
      this.release(session, generation);
      return result;
    } catch (err) {
      if (lost.has(ckr(err) ?? '')) this.reset();
      this.release(session, generation);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new KmsError('UNAVAILABLE', 'the PKCS#11 connection is closing'));
    this.reset();
    const entry = modules.get(this.options.module);
    if (entry && this.lib && --entry.users === 0) {
      modules.delete(this.options.module);
      try { entry.lib.C_Finalize(); } catch { /* already finalized */ }
      entry.lib.close();
    }
    this.lib = undefined;
  }

  /** Forgets every session; they are closed where the module still knows them. */
  reset(): void {
    this.generation++;
    for (const s of this.free) this.closeSession(s);
    this.free = [];
    this.opened = 0;
    this.slotId = undefined;
    for (const w of this.waiters.splice(0)) this.acquire().then(w.resolve, w.reject);
  }

  private async acquire(): Promise<Handle> {
    if (this.closed) throw new KmsError('UNAVAILABLE', 'the PKCS#11 connection is closed');
    if (this.slotId === undefined) await (this.connecting ??= this.connect().finally(() => { this.connecting = undefined; }));
    const s = this.free.pop();
    if (s) return s;
    if (this.opened < this.options.sessions) {
      this.opened++;
      try {
        return this.openSession();
      } catch (err) {
        this.opened--;
        throw err;
      }
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(session: Handle, generation: number): void {
    if (generation !== this.generation) return this.closeSession(session);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(session);
    else this.free.push(session);
  }

  private closeSession(session: Handle): void {
    try { this.lib?.C_CloseSession(session); } catch { /* gone with the token */ }
  }

  private async connect(): Promise<void> {
    const p = this.p;
    let entry = modules.get(this.options.module);
    if (!entry) {
      // pkcs11js aborts the process on some bad paths rather than throwing: check first.
      if (!existsSync(this.options.module)) throw new KmsError('UNAVAILABLE', `the PKCS#11 module "${this.options.module}" does not exist`);
      const lib = new p.PKCS11();
      try {
        lib.load(this.options.module);
      } catch (cause) {
        throw new KmsError('UNAVAILABLE', `cannot load the PKCS#11 module "${this.options.module}"`, { cause });
      }
      entry = { lib, users: 0 };
      modules.set(this.options.module, entry);
    }
    if (this.lib !== entry.lib) entry.users++;
    this.lib = entry.lib;
    initialize(this.lib, p);
    const slots = this.lib.C_GetSlotList(true);
    const slot = this.options.token !== undefined
      ? slots.find((s) => this.lib!.C_GetTokenInfo(s).label.trim() === this.options.token)
      : slots.find((s) => s.readUIntLE(0, Math.min(s.length, 6)) === this.options.slot);
    if (!slot) {
      const which = this.options.token !== undefined ? `with label "${this.options.token}"` : `in slot ${this.options.slot}`;
      throw new KmsError('UNAVAILABLE', `no PKCS#11 token ${which} in "${this.options.module}"`);
    }
    this.label = this.lib.C_GetTokenInfo(slot).label.trim();
    this.slotId = slot;
    // Logging in once logs in every session of this application (PKCS#11 §5.6).
    const session = this.openSession();
    try {
      this.lib.C_Login(session, p.CKU_USER, this.options.pin());
    } catch (err) {
      if (ckr(err) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        this.closeSession(session);
        this.slotId = undefined;
        throw err;
      }
    }
    this.opened++;
    this.free.push(session);
  }

  private openSession(): Handle {
    return this.lib!.C_OpenSession(this.slotId!, this.p.CKF_SERIAL_SESSION | this.p.CKF_RW_SESSION);
  }
}
