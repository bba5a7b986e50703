// Configuration: environment for the process, a YAML file (KMSGW_CONFIG) for everything structured.
// Validated at start-up; a bad file stops the gateway with a message naming the field at fault.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { OidcConfig } from './auth/oidc.ts';
import type { MtlsConfig } from './auth/mtls.ts';
import { ROLES } from './auth/identity.ts';
import { defaultRateLimits, type RateLimitOptions } from './policy/rate-limits.ts';
import { z } from 'zod';

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -, starting with a letter or digit');

/** Settings every connection takes: a deadline per provider call and a client-side rate limit. */
const common = {
  name,
  /** Milliseconds one attempt may take, and a whole call with its retries. */
  timeoutMs: z.number().int().min(50).max(120_000).optional(),
  deadlineMs: z.number().int().min(50).max(600_000).optional(),
  /** Milliseconds a key or version generation, or a discovery page, may take (RSA-4096 on an HSM takes seconds). */
  generationTimeoutMs: z.number().int().min(1_000).max(600_000).optional(),
  /** Calls per second one gateway instance sends at most; 0 turns the limit off. */
  rateLimitPerSecond: z.number().int().min(0).max(1_000_000).optional(),
};

/** Where a connection's keys live, for governance placement rules, when its settings do not say. */
const declaredRegion = z.string().regex(/^[a-z0-9-]{2,40}$/, 'a region name such as westeurope').optional();

const connectionSchema = z.discriminatedUnion('provider', [
  z.object({ ...common, provider: z.literal('local'), region: declaredRegion }).strict(),
  z.object({
    ...common,
    provider: z.literal('aws'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'),
    /** An emulator's or VPC endpoint's URL; the AWS_ENDPOINT_URL environment variable works too. */
    endpoint: z.string().url().optional(),
  }).strict(),
  z.object({
    ...common,
    provider: z.literal('azure'),
    /** The vault's URL, e.g. https://my-vault.vault.azure.net; credentials come from @azure/identity's default chain. */
    vaultUrl: z.string().url().regex(/^https:\/\/[a-z0-9.-]+(:\d+)?\/?$/, 'the vault URL, https://<name>.vault.azure.net').transform((u) => u.replace(/\/$/, '')),
    /** HSM: keys are HSM-protected (RSA-HSM, EC-HSM: a Premium vault or a Managed HSM), and imports come by BYOK. */
    protectionLevel: z.enum(['SOFTWARE', 'HSM']).default('SOFTWARE'),
    region: declaredRegion,
  }).strict(),
  z.object({
    ...common,
    provider: z.literal('gcp'),
    /** The key ring the connection's keys live in; it must exist. Credentials: Application Default Credentials. */
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
    location: z.string().regex(/^[a-z0-9-]+$/, 'a Cloud KMS location such as europe-west1 or global'),
    keyRing: z.string().regex(/^[a-zA-Z0-9_-]{1,63}$/, 'a key ring id'),
    protectionLevel: z.enum(['SOFTWARE', 'HSM']).default('SOFTWARE'),
    /** A private or regional endpoint's host, e.g. europe-west1-kms.googleapis.com. */
    endpoint: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'a host name').optional(),
  }).strict(),
  z.object({
    ...common,
    provider: z.literal('pkcs11'),
    /** The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
    module: z.string().min(1),
    /** The token by label, or its slot id: exactly one. */
    token: z.string().min(1).max(32).optional(),
    slot: z.number().int().min(0).optional(),
    /** Where the user PIN comes from: a file (first line) or an environment variable. Never the config itself. */
    pinFile: z.string().min(1).optional(),
    pinEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name').optional(),
    /** Sessions opened on the token, each running one operation at a time. */
    sessions: z.number().int().min(1).max(256).default(8),
    region: declaredRegion,
  }).strict()
    .refine((c) => (c.token === undefined) !== (c.slot === undefined), { message: 'give exactly one of token and slot', path: ['token'] })
    .refine((c) => (c.pinFile === undefined) !== (c.pinEnv === undefined), { message: 'give exactly one of pinFile and pinEnv', path: ['pinFile'] }),
]);
export type ConnectionConfig = z.infer<typeof connectionSchema>;

const rateLimit = z.object({
  requests: z.number().int().min(0).max(10_000_000),
  perSeconds: z.number().int().min(1).max(86_400).default(1),
  burst: z.number().int().min(1).max(10_000_000).optional(),
}).strict();

const fileSchema = z.object({
  connections: z.array(connectionSchema).min(1).default([{ name: 'local', provider: 'local' }]),
  defaultConnection: z.string().optional(),
  /** The governance rule set in force (policies/governance/default.yaml unless named), relative to this file. */
  governance: z.string().min(1).optional(),
  /** Request rates per principal and per key, on each instance; requests: 0 turns one off. */
  rateLimits: z.object({ perPrincipal: rateLimit.optional(), perKey: rateLimit.optional() }).strict().default({}),
  lifecycle: z.object({ sweepIntervalSeconds: z.number().int().min(1).max(86_400).default(60) }).strict().default({ sweepIntervalSeconds: 60 }),
  /** Discovery of every connection that lists its keys, and the compliance scan of every key, this often; 0 leaves them to requests. */
  inventory: z.object({
    discoverEverySeconds: z.number().int().min(0).max(30 * 86_400).default(3_600),
    complianceScanEverySeconds: z.number().int().min(0).max(30 * 86_400).default(3_600),
  }).strict().default({ discoverEverySeconds: 3_600, complianceScanEverySeconds: 3_600 }),
  /**
   * The sync of keys with a replica behind or envelopes awaiting a wrap, this often (0 leaves it to
   * rotations and requests). Decrypt asks the next binding too when one has not answered in
   * failoverAfterMs; encrypt waits wrapWaitMs after the first wrap for the others' (a binding left
   * out is repaired later: a longer wait than decrypt's, as skipping a merely slow binding costs work).
   */
  replicas: z.object({
    syncEverySeconds: z.number().int().min(0).max(86_400).default(300),
    failoverAfterMs: z.number().int().min(1).max(60_000).default(250),
    wrapWaitMs: z.number().int().min(1).max(60_000).default(1_000),
  }).strict().default({ syncEverySeconds: 300, failoverAfterMs: 250, wrapWaitMs: 1_000 }),
  auth: z.object({
    oidc: z.object({
      issuer: z.string().url(),
      audience: z.string().min(1),
      jwksUrl: z.string().url().optional(),
      rolesClaim: z.string().min(1).default('roles'),
      groupsClaim: z.string().min(1).default('groups'),
      clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    }).strict().optional(),
    /** Client certificates (needs tls.clientCaFile): the subject CNs that get roles and groups. */
    mtls: z.object({
      clients: z.array(z.object({ subject: z.string().min(1), roles: z.array(z.enum(ROLES)).default([]), groups: z.array(z.string().min(1)).default([]) }).strict()).default([]),
    }).strict().optional(),
  }).strict().default({}),
  /** Serve HTTPS; with clientCaFile, client certificates it signed authenticate (mutual TLS). */
  tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1), clientCaFile: z.string().min(1).optional() }).strict().optional(),
}).strict();

const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  DATABASE_URL: z.string().url().optional(),
  KMSGW_DATA_DIR: z.string().default('./data'),
  KMSGW_CONFIG: z.string().optional(),
  KMSGW_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KMSGW_BOOTSTRAP_ADMIN_KEY: z.string().regex(/^kmsgw_[A-Za-z0-9_-]{43}$/, '"kmsgw_" and 43 base64url characters (256 bits)').optional(),
});

export interface Config {
  host: string;
  port: number;
  databaseUrl?: string;
  dataDir: string;
  maxBodyBytes: number;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  connections: ConnectionConfig[];
  defaultConnection: string;
  sweepIntervalSeconds: number;
  discoverEverySeconds: number;
  complianceScanEverySeconds: number;
  syncEverySeconds: number;
  failoverAfterMs: number;
  wrapWaitMs: number;
  rateLimits: RateLimitOptions;
  /** The file of the governance rule set in force; the shipped default when none. */
  governanceFile?: string;
  oidc?: OidcConfig;
  mtls?: MtlsConfig;
  /** PEM files, resolved against the configuration file's directory. */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** The first administrator key, for automated set-ups; used only on a database without keys. */
  bootstrapAdminKey?: string;
}

export class ConfigError extends Error {}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration in ${where}:\n${lines.join('\n')}`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset, as shells and container specs often leave them.
  const e = check(envSchema, Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')), 'the environment');
  const file = check(fileSchema, e.KMSGW_CONFIG ? parse(readFileSync(e.KMSGW_CONFIG, 'utf8')) ?? {} : {}, e.KMSGW_CONFIG ?? 'defaults');
  // Paths in the file are relative to the file.
  const relative = (path: string) => resolve(dirname(resolve(e.KMSGW_CONFIG ?? '.')), path);
  const names = file.connections.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new ConfigError(`invalid configuration: connection name "${duplicate}" is declared twice`);
  // PKCS#11 logs a process in per token, not per session: a second connection to one token would
  // ride on the first one's login whatever PIN it was given.
  const tokens = file.connections.flatMap((c) => (c.provider === 'pkcs11' ? [`${c.module}#${c.token ?? `slot ${c.slot}`}`] : []));
  const sharedToken = tokens.find((t, i) => tokens.indexOf(t) !== i);
  if (sharedToken) throw new ConfigError(`invalid configuration: two pkcs11 connections use one token (${sharedToken.replace('#', ', ')}); declare it once`);
  if (file.auth.mtls && !file.tls?.clientCaFile) throw new ConfigError('invalid configuration: auth.mtls needs tls.clientCaFile, the CA that signs client certificates');
  const defaultConnection = file.defaultConnection ?? names[0]!;
  if (!names.includes(defaultConnection)) throw new ConfigError(`invalid configuration: defaultConnection "${defaultConnection}" is not a declared connection`);
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.KMSGW_DATA_DIR),
    maxBodyBytes: e.KMSGW_MAX_BODY_BYTES,
    logLevel: e.LOG_LEVEL,
    connections: file.connections,
    defaultConnection,
    sweepIntervalSeconds: file.lifecycle.sweepIntervalSeconds,
    discoverEverySeconds: file.inventory.discoverEverySeconds,
    complianceScanEverySeconds: file.inventory.complianceScanEverySeconds,
    syncEverySeconds: file.replicas.syncEverySeconds,
    failoverAfterMs: file.replicas.failoverAfterMs,
    wrapWaitMs: file.replicas.wrapWaitMs,
    rateLimits: {
      perPrincipal: file.rateLimits.perPrincipal ?? defaultRateLimits.perPrincipal,
      perKey: file.rateLimits.perKey ?? defaultRateLimits.perKey,
    },
    governanceFile: file.governance ? relative(file.governance) : undefined,
    oidc: file.auth.oidc,
    mtls: file.tls?.clientCaFile ? file.auth.mtls ?? { clients: [] } : undefined,
    tls: file.tls && {
      certFile: relative(file.tls.certFile), keyFile: relative(file.tls.keyFile), ...(file.tls.clientCaFile && { clientCaFile: relative(file.tls.clientCaFile) }),
    },
    bootstrapAdminKey: e.KMSGW_BOOTSTRAP_ADMIN_KEY,
  };
}
