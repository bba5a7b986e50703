// Approvals (M-of-N, two-person integrity): a principal asks for approval of one operation on one
// target; principals other than the requester approve or deny; once approved, the requester's
// next request for that operation and target presents it (Kmsgw-Approval) and claims it. The
// policies decide, as always, with the approvals counted in `context.approvals`: how many are
// needed is whatever the policies in force say, found when the request is made.
import { KmsError, needs } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/errors.ts';
import {
  claimApproval, insertApprovalRequest, insertVote, listApprovals, loadApproval, releaseApproval, setApprovalStatus, type ApprovalGraph,
} from '../db/queries/approvals.ts';
import type { ApprovalStatus } from '../db/schema/approvals.ts';
import type { KeyGraph } from '../db/queries/keys.ts';
import type { Actor } from '../keys/model.ts';
import { GATEWAY, keyResource, MAX_APPROVALS, type Access } from './access.ts';
import { KEY_ACTIONS } from './engine.ts';

export const APPROVAL_HEADER = 'Kmsgw-Approval';
export const MAX_APPROVAL_HOURS = 7 * 24;
const DEFAULT_APPROVAL_HOURS = 24;

/** A request's state as a reader sees it: a pending or approved request past its expiry is EXPIRED. */
export function approvalState(request: ApprovalGraph['request'], now = new Date()): ApprovalStatus | 'EXPIRED' {
  return (request.status === 'PENDING' || request.status === 'APPROVED') && request.expiresAt <= now ? 'EXPIRED' : request.status;
}

export class Approvals {
  constructor(private readonly db: Db, private readonly access: Access) {}

  /**
   * Asks for approval of `operation` on a key, or on the gateway target named by the operation's
   * path id ('' when it has none). Refused when the operation needs no approval, or when no
   * number of approvals would let this principal do it.
   */
  async request(actor: Actor, input: { operation: string; key?: KeyGraph; target: string; reason: string; expiresAt?: Date }): Promise<ApprovalGraph> {
    const now = new Date();
    const expiresAt = input.expiresAt ?? new Date(now.getTime() + DEFAULT_APPROVAL_HOURS * 3_600_000);
    needs(expiresAt > now, 'INVALID_ARGUMENT', 'expiresAt must be in the future', { field: 'expiresAt' });
    needs(expiresAt.getTime() - now.getTime() <= MAX_APPROVAL_HOURS * 3_600_000, 'INVALID_ARGUMENT', `a request for approval lasts at most ${MAX_APPROVAL_HOURS} hours`, { field: 'expiresAt' });
    const required = this.access.approvalsNeeded(actor, input.operation, input.key ? keyResource(input.key) : GATEWAY);
    needs(required !== undefined, 'PERMISSION_DENIED', `principal "${actor.identity.principal}" may not ${input.operation} ${input.key ? `key "${input.key.key.id}"` : 'here'}, whatever the approvals (up to ${MAX_APPROVALS})`);
    needs(required > 0, 'FAILED_PRECONDITION', `${input.operation} needs no approval for principal "${actor.identity.principal}": just do it`);
    const id = newId('apr');
    await insertApprovalRequest(this.db, {
      id, operation: input.operation, target: input.key?.key.id ?? input.target, requester: actor.identity.principal, reason: input.reason, required, status: 'PENDING', expiresAt,
    });
    Object.assign(actor.record, { keyId: input.key?.key.id, detail: { approval: id, operation: input.operation, required: String(required) } });
    return (await loadApproval(this.db, id))!;
  }

  async get(id: string): Promise<ApprovalGraph> {
    const found = await loadApproval(this.db, id);
    needs(found, 'NOT_FOUND', `approval request "${id}" not found`);
    return found;
  }

  async list(filter: { status?: ApprovalStatus; before?: string }, limit: number): Promise<ApprovalGraph[]> {
    return listApprovals(this.db, filter, limit);
  }

  /**
   * Records the actor's vote. `decide` is the access decision on the request's target (done by the
   * caller, which loads the key). An approval that reaches the count approves the request; a
   * denial ends it.
   */
  async vote(actor: Actor, id: string, decision: 'approve' | 'deny', comment: string, decide: (graph: ApprovalGraph) => Promise<void>): Promise<ApprovalGraph> {
    const principal = actor.identity.principal;
    actor.record.detail = { approval: id };
    await decide(await this.get(id));
    try {
      await this.db.transaction(async (tx) => {
        const graph = await loadApproval(tx, id, true);
        needs(graph, 'NOT_FOUND', `approval request "${id}" not found`);
        const { request, votes } = graph;
        needs(request.requester !== principal, 'PERMISSION_DENIED', 'a requester cannot approve or deny its own request');
        const state = approvalState(request);
        needs(state === 'PENDING', 'FAILED_PRECONDITION', `approval request "${id}" is ${state}; only pending requests take votes`);
        needs(!votes.some((v) => v.principal === principal), 'ALREADY_EXISTS', `principal "${principal}" has already voted on "${id}"`);
        await insertVote(tx, { requestId: id, principal, decision, comment });
        const approvals = votes.filter((v) => v.decision === 'approve').length + (decision === 'approve' ? 1 : 0);
        if (decision === 'deny') await setApprovalStatus(tx, id, 'DENIED');
        else if (approvals >= request.required) await setApprovalStatus(tx, id, 'APPROVED');
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new KmsError('ALREADY_EXISTS', `principal "${principal}" has already voted on "${id}"`, { cause: err });
      throw err;
    }
    return this.get(id);
  }

  /**
   * Claims the approval a request presents for its operation: it must be the requester's own,
   * approved, unexpired and unused. Why it cannot be claimed is said precisely.
   */
  async claim(actor: Actor, id: string, pathTarget: string): Promise<void> {
    const operation = actor.operation!;
    actor.record.detail = { ...actor.record.detail, approval: id };
    const claimed = await claimApproval(this.db, { id, requester: actor.identity.principal, operation, now: new Date() });
    if (!claimed) {
      const found = await loadApproval(this.db, id);
      const why = !found ? 'does not exist'
        : found.request.requester !== actor.identity.principal ? 'was asked for by another principal'
        : found.request.operation !== operation ? `is for ${found.request.operation}, not ${operation}`
        : approvalState(found.request) === 'PENDING' ? `is pending: ${found.votes.filter((v) => v.decision === 'approve').length} of ${found.request.required} approvals`
        : `is ${approvalState(found.request)}`;
      throw new KmsError('FAILED_PRECONDITION', `approval request "${id}" ${why}`);
    }
    actor.approval = { id, target: claimed.target, count: claimed.count };
    // A gateway operation's target is its path id, known now; a key's is matched at the decision.
    if (!KEY_ACTIONS.includes(operation) && claimed.target !== pathTarget) {
      await this.release(actor);
      throw new KmsError('FAILED_PRECONDITION', `approval request "${id}" is for target "${claimed.target}", not "${pathTarget}"`);
    }
  }

  /** Gives a claimed approval back when the request that claimed it failed. */
  async release(actor: Actor): Promise<void> {
    if (!actor.approval) return;
    await releaseApproval(this.db, actor.approval.id);
    actor.approval = undefined;
  }
}
