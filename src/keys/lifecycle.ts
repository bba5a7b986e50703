// Key lifecycle after NIST SP 800-57 / KMIP: the one table of which operations each state allows,
// the one table of transitions (each with its reason), and the date rules that move a key on
// without anybody calling.

export const keyStates = ['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED', 'DEACTIVATED', 'COMPROMISED', 'PENDING_DELETION', 'DESTROYED'] as const;
export type KeyState = (typeof keyStates)[number];

/** Operations the state table governs. Protecting operations create new protected data; processing ones only use it. */
export const keyOperations = [
  'ENCRYPT', 'GENERATE_DATA_KEY', 'SIGN', 'MAC', 'WRAP', 'ROTATE',
  'DECRYPT', 'VERIFY', 'VERIFY_MAC', 'UNWRAP', 'GET_PUBLIC_KEY',
  'EXPORT', 'UPDATE',
] as const;
export type KeyOperation = (typeof keyOperations)[number];

const protect: KeyOperation[] = ['ENCRYPT', 'GENERATE_DATA_KEY', 'SIGN', 'MAC', 'WRAP', 'ROTATE'];
const processing: KeyOperation[] = ['DECRYPT', 'VERIFY', 'VERIFY_MAC', 'UNWRAP', 'GET_PUBLIC_KEY'];

export const allowedOperations: Record<KeyState, ReadonlySet<KeyOperation>> = {
  PRE_ACTIVE: new Set(['UPDATE']),
  // Export (wrapped, of exportable keys) copies a key elsewhere: never a compromised one.
  ACTIVE: new Set([...protect, ...processing, 'EXPORT', 'UPDATE']),
  SUSPENDED: new Set([...processing, 'EXPORT', 'UPDATE']),
  DEACTIVATED: new Set([...processing, 'EXPORT', 'UPDATE']),
  COMPROMISED: new Set([...processing, 'UPDATE']),
  PENDING_DELETION: new Set(['UPDATE']),
  DESTROYED: new Set(),
};

export const transitionReasons = [
  'ACTIVATION', 'SUSPENSION', 'REACTIVATION', 'EXPIRY', 'REVOCATION', 'COMPROMISE', 'DELETION_SCHEDULED', 'DELETION_CANCELLED', 'DESTRUCTION',
] as const;
export type TransitionReason = (typeof transitionReasons)[number];

export interface Transition { from: readonly KeyState[]; to: KeyState; reason: TransitionReason }

const live: KeyState[] = ['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED', 'DEACTIVATED'];

/** Every transition the gateway knows, by the name of the action that causes it. */
export const transitions = {
  activate: { from: ['PRE_ACTIVE'], to: 'ACTIVE', reason: 'ACTIVATION' },
  suspend: { from: ['ACTIVE'], to: 'SUSPENDED', reason: 'SUSPENSION' },
  reactivate: { from: ['SUSPENDED'], to: 'ACTIVE', reason: 'REACTIVATION' },
  expire: { from: ['ACTIVE', 'SUSPENDED'], to: 'DEACTIVATED', reason: 'EXPIRY' },
  deactivate: { from: ['PRE_ACTIVE', 'ACTIVE', 'SUSPENDED'], to: 'DEACTIVATED', reason: 'REVOCATION' },
  compromise: { from: live, to: 'COMPROMISED', reason: 'COMPROMISE' },
  scheduleDeletion: { from: [...live, 'COMPROMISED'], to: 'PENDING_DELETION', reason: 'DELETION_SCHEDULED' },
  // The state it returns to is the one before scheduling (see stateAfterCancel).
  cancelDeletion: { from: ['PENDING_DELETION'], to: 'SUSPENDED', reason: 'DELETION_CANCELLED' },
  destroy: { from: ['PENDING_DELETION'], to: 'DESTROYED', reason: 'DESTRUCTION' },
} as const satisfies Record<string, Transition>;
export type TransitionName = keyof typeof transitions;

/**
 * Cancelling a deletion returns the key to where it was, except that an ACTIVE key comes back
 * SUSPENDED: a key somebody meant to delete is used again only after an explicit reactivation.
 */
export function stateAfterCancel(before: KeyState | null): KeyState {
  if (!before || before === 'ACTIVE' || before === 'PENDING_DELETION' || before === 'DESTROYED') return 'SUSPENDED';
  return before;
}

export const OBSERVED = 'the key is observed at its backend, not managed by the gateway: adopt it first (POST /v1/keys/{key}/adopt)';

export const deletionWindow = { minDays: 7, maxDays: 30, defaultDays: 30 } as const;

export interface KeyDates {
  state: KeyState;
  /** False for a key discovery found and nobody adopted: it is never used. */
  managed: boolean;
  activationDate: Date | null;
  protectStopDate: Date | null;
  deactivationDate: Date | null;
  deletionDate: Date | null;
}

/** The state a key is in at `now` once its dates are applied; a background sweep persists the same moves. */
export function effectiveState(key: KeyDates, now: Date): KeyState {
  const due = (d: Date | null) => d !== null && d.getTime() <= now.getTime();
  switch (key.state) {
    case 'PRE_ACTIVE':
      if (due(key.deactivationDate)) return 'DEACTIVATED';
      return due(key.activationDate) ? 'ACTIVE' : 'PRE_ACTIVE';
    case 'ACTIVE':
    case 'SUSPENDED':
      return due(key.deactivationDate) ? 'DEACTIVATED' : key.state;
    case 'PENDING_DELETION':
      return due(key.deletionDate) ? 'DESTROYED' : key.state;
    default:
      return key.state;
  }
}

/** Why `op` is refused on a key at `now`, or undefined when the lifecycle allows it. */
export function lifecycleRefusal(key: KeyDates, op: KeyOperation, now: Date): string | undefined {
  if (!key.managed) return OBSERVED;
  const state = effectiveState(key, now);
  if (!allowedOperations[state].has(op)) return `operation ${op} is not allowed on a key in state ${state}`;
  // Past its protect-stop date a key still processes what it protected, but protects nothing new.
  const protectStopped = key.protectStopDate !== null && key.protectStopDate.getTime() <= now.getTime();
  if (protectStopped && protect.includes(op)) return `operation ${op} is not allowed after the key's protect-stop date`;
  return undefined;
}
