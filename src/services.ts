// The composition root: opens the database, builds the connections from configuration and wires
// the key services. Everything the HTTP app and the jobs need comes from here.
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config, ConnectionConfig } from './config.ts';
import { databaseTarget, openDatabase, type Database } from './db/client.ts';
import { materialStore } from './db/queries/local-material.ts';
import { repairLedger } from './db/queries/envelope-repairs.ts';
import type { Services } from './http/app.ts';
import { KeyCache } from './keys/cache.ts';
import { CryptoService } from './keys/crypto.ts';
import { KeyService } from './keys/service.ts';
import { Access } from './policy/access.ts';
import { PolicyEngine } from './policy/engine.ts';
import { PolicyStore } from './policy/store.ts';
import { Approvals } from './policy/approvals.ts';
import { RateLimits } from './policy/rate-limits.ts';
import { Discovery, DISCOVERY } from './inventory/discovery.ts';
import { ComplianceScan, COMPLIANCE_SCAN } from './governance/scan.ts';
import { ReplicaSync, SYNC } from './replicas/sync.ts';
import { Inventory } from './inventory/inventory.ts';
import { UsageRecorder } from './inventory/usage.ts';
import { Metrics } from './metrics.ts';
import { JobRunner } from './jobs/runner.ts';
import { ApiKeyAuthenticator } from './auth/api-keys.ts';
import { Authenticator } from './auth/authenticator.ts';
import { OidcAuthenticator } from './auth/oidc.ts';
import { MtlsAuthenticator } from './auth/mtls.ts';
import { AuditLog } from './audit/log.ts';
import { Governance } from './governance/governance.ts';
import { Connection, Connections } from './routing/connection.ts';
import { LocalProvider } from '../providers/local/index.ts';
import { AwsKmsProvider } from '../providers/awskms/index.ts';
import { newKmsClient } from '../providers/awskms/client.ts';
import { AzureKeyVaultProvider } from '../providers/azurekeyvault/index.ts';
import { newKeyVaultClient } from '../providers/azurekeyvault/client.ts';
import { GcpKmsProvider } from '../providers/gcpkms/index.ts';
import { newGcpKmsClient } from '../providers/gcpkms/client.ts';
import { Pkcs11Provider } from '../providers/pkcs11/index.ts';
import { readPin } from '../providers/pkcs11/pin.ts';
import { RootKeyring } from '../providers/local/rootkeys.ts';
import type { KeyProvider } from '../providers/provider.ts';

/**
 * Client-side rate limits per instance, below the providers' published quotas: AWS KMS allows at
 * least 10,000 symmetric requests per second per account and region (asymmetric ones far fewer:
 * lower it for RSA/ECC-heavy connections); Azure Key Vault allows 4,000 RSA-2048 operations per 10 s
 * per vault, far fewer for RSA-4096, and 20 creates per 10 s; Cloud KMS about 1,000 crypto requests per
 * second per project and region, shared by everything in it. The local keystore and HSMs have no quota: an HSM's
 * session pool is its limit.
 */
const defaultRatePerSecond: Record<ConnectionConfig['provider'], number> = { local: 0, aws: 5_000, azure: 300, gcp: 500, pkcs11: 0 };

/** `jobs` is built, not started: the server starts it (CLI commands that open a runtime do not run jobs). */
export interface Runtime { services: Services; connections: Connections; cache: KeyCache; jobs: JobRunner; replicaSync: ReplicaSync; close(): Promise<void> }

export async function openRuntime(config: Config, logger: Logger, database?: Database): Promise<Runtime> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const db = database ?? await openDatabase(databaseTarget(config));
  let keyring: RootKeyring | undefined;
  const provider = (c: ConnectionConfig): KeyProvider => {
    switch (c.provider) {
      case 'local':
        keyring ??= RootKeyring.open(config.dataDir);
        return new LocalProvider(keyring, materialStore(db.db));
      case 'aws':
        return new AwsKmsProvider(newKmsClient({ region: c.region, endpoint: c.endpoint }));
      case 'azure':
        return new AzureKeyVaultProvider(newKeyVaultClient({ vaultUrl: c.vaultUrl }), c.vaultUrl, c.protectionLevel);
      case 'gcp':
        return new GcpKmsProvider(newGcpKmsClient({ endpoint: c.endpoint }), c);
      case 'pkcs11':
        return new Pkcs11Provider({ module: c.module, token: c.token, slot: c.slot, sessions: c.sessions, pin: () => readPin(c) });
    }
  };
  const connections = new Connections(config.connections.map((c) => new Connection(c.name, provider(c), {
    timeoutMs: c.timeoutMs,
    generationTimeoutMs: c.generationTimeoutMs,
    resilience: { ratePerSecond: c.rateLimitPerSecond ?? defaultRatePerSecond[c.provider], ...(c.deadlineMs && { deadlineMs: c.deadlineMs }) },
    region: c.provider === 'aws' ? c.region : c.provider === 'gcp' ? c.location : c.region,
  })), config.defaultConnection);
  const governance = Governance.open(config.governanceFile, connections);
  const cache = new KeyCache(db.db);
  await cache.start(db);
  const access = new Access(new PolicyEngine(), db.db, new RateLimits(config.rateLimits));
  await access.start(db);
  const apiKeys = new ApiKeyAuthenticator(db.db, logger);
  await apiKeys.start(db);
  const discovery = new Discovery(db.db, connections);
  const keys = new KeyService(db.db, connections, cache, access, governance);
  const inventory = new Inventory(db.db, connections, keys, governance, discovery);
  const metrics = new Metrics(db.db, connections, inventory);
  const crypto = new CryptoService(connections, cache, access, { metrics, afterMs: config.failoverAfterMs, wrapWaitMs: config.wrapWaitMs }, repairLedger(db.db), logger);
  const replicaSync = new ReplicaSync(db.db, connections, crypto);
  const jobs = new JobRunner(db, { [DISCOVERY]: discovery, [COMPLIANCE_SCAN]: new ComplianceScan(keys, governance), [SYNC]: replicaSync }, logger);
  const usage = new UsageRecorder(db.db, logger);
  usage.start();
  const services: Services = {
    keys,
    crypto,
    connections,
    auth: new Authenticator(apiKeys, config.oidc && new OidcAuthenticator(config.oidc, logger), config.mtls && new MtlsAuthenticator(config.mtls)),
    access,
    governance,
    approvals: new Approvals(db.db, access),
    inventory,
    policies: new PolicyStore(db.db, access),
    audit: new AuditLog(db.db),
    usage,
    metrics,
    database: db,
    logger,
  };
  return {
    services, connections, cache, jobs, replicaSync,
    async close() {
      await jobs.stop();
      await usage.stop();
      await cache.stop();
      await access.stop();
      await apiKeys.stop();
      await connections.close();
      await db.close();
    },
  };
}
