// Mounts every route, by resource.
import type { App } from '../app.ts';
import { registerCreateKey } from './keys/create.ts';
import { registerListKeys } from './keys/list.ts';
import { registerGetKey } from './keys/get.ts';
import { registerUpdateKey } from './keys/update.ts';
import { registerAddAlias } from './keys/add-alias.ts';
import { registerAddReplica } from './keys/add-replica.ts';
import { registerRemoveAlias } from './keys/remove-alias.ts';
import { registerRotateKey } from './keys/rotate.ts';
import { registerListVersions } from './keys/list-versions.ts';
import { registerListKeyEvents } from './keys/list-events.ts';
import { registerTransitions } from './keys/transition.ts';
import { registerScheduleDeletion } from './keys/schedule-deletion.ts';
import { registerCancelDeletion } from './keys/cancel-deletion.ts';
import { registerEncrypt } from './crypto/encrypt.ts';
import { registerDecrypt } from './crypto/decrypt.ts';
import { registerDataKey } from './crypto/data-key.ts';
import { registerReencrypt } from './crypto/reencrypt.ts';
import { registerSign } from './crypto/sign.ts';
import { registerVerify } from './crypto/verify.ts';
import { registerMac } from './crypto/mac.ts';
import { registerVerifyMac } from './crypto/verify-mac.ts';
import { registerPublicKey } from './crypto/public-key.ts';
import { registerWrapKey } from './crypto/wrap-key.ts';
import { registerUnwrapKey } from './crypto/unwrap-key.ts';
import { registerExportKey } from './keys/export.ts';
import { registerListConnections } from './connections/list.ts';
import { registerCreateApiKey } from './api-keys/create.ts';
import { registerListApiKeys } from './api-keys/list.ts';
import { registerRevokeApiKey } from './api-keys/revoke.ts';
import { registerListPolicies } from './policies/list.ts';
import { registerPutPolicy } from './policies/put.ts';
import { registerDeletePolicy } from './policies/delete.ts';
import { registerCreateGrant } from './policies/grant.ts';
import { registerListAuditEvents } from './audit/list.ts';
import { registerVerifyAudit } from './audit/verify.ts';
import { registerExportAudit } from './audit/export.ts';
import { registerCreateBackup } from './backups/create.ts';
import { registerCompliance } from './governance/compliance.ts';
import { registerComplianceScan } from './governance/scan.ts';
import { registerRequestApproval } from './approvals/request.ts';
import { registerListApprovals } from './approvals/list.ts';
import { registerGetApproval } from './approvals/get.ts';
import { registerVotes } from './approvals/vote.ts';
import { registerDiscover } from './connections/discover.ts';
import { registerJobs } from './jobs/get.ts';
import { registerDrift } from './inventory/drift.ts';
import { registerAdoptKey } from './keys/adopt.ts';
import { registerSyncKey } from './keys/sync.ts';
import { registerKeyUsage } from './keys/usage.ts';
import { registerExportInventory } from './inventory/export.ts';
import { registerInventorySummary } from './inventory/summary.ts';
import { registerHealth } from './system/health.ts';
import { registerDocs } from './system/docs.ts';
import { registerMetrics } from './system/metrics.ts';
import { registerUi } from './system/ui.ts';

export function registerRoutes(app: App): void {
  for (const register of [
    registerCreateKey, registerListKeys, registerGetKey, registerUpdateKey, registerAddAlias, registerRemoveAlias, registerAddReplica,
    registerRotateKey, registerListVersions, registerListKeyEvents, registerKeyUsage, registerTransitions, registerScheduleDeletion, registerCancelDeletion, registerExportKey,
    registerEncrypt, registerDecrypt, registerDataKey, registerReencrypt, registerSign, registerVerify, registerMac, registerVerifyMac, registerPublicKey, registerWrapKey, registerUnwrapKey,
    registerListConnections, registerDiscover, registerJobs, registerDrift, registerAdoptKey, registerSyncKey, registerExportInventory, registerInventorySummary,
    registerCreateApiKey, registerListApiKeys, registerRevokeApiKey,
    registerListPolicies, registerPutPolicy, registerDeletePolicy, registerCreateGrant,
    registerListAuditEvents, registerVerifyAudit, registerExportAudit,
    registerCreateBackup,
    registerCompliance,
    registerComplianceScan,
    registerRequestApproval, registerListApprovals, registerGetApproval, registerVotes,
    registerHealth, registerDocs, registerMetrics, registerUi,
  ]) register(app);
}
