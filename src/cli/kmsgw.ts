#!/usr/bin/env tsx
// kmsgw: the gateway's command line. `serve` runs the gateway; the rest are operator commands.
import { Command } from 'commander';
import { ROLES } from '../auth/identity.ts';
import { action, EXIT } from './client.ts';
import { DatabaseInUse } from '../db/in-use.ts';
import { keysAddReplica, keysCreate, keysDelete, keysList, keysShow, keysSync, keysTransition } from './keys.ts';
import { decrypt, encrypt } from './crypto.ts';
import { discover, inventoryExport } from './inventory.ts';

// The commands on the gateway's own host load the whole gateway (database, providers, policy
// engine): only when run, so that the client commands start at once.
const serve = async () => (await import('./serve.ts')).serve();
const rotateRootKey = async () => (await import('./root-key.ts')).rotateRootKey();
const drDrill = async (o: { without: string; json?: boolean }) => (await import('./dr.ts')).drDrill(o);
const apiKeysCreate = async (o: Parameters<typeof import('./api-keys.ts').apiKeysCreate>[0]) => (await import('./api-keys.ts')).apiKeysCreate(o);
const apiKeysList = async (o: { json?: boolean }) => (await import('./api-keys.ts')).apiKeysList(o);
const apiKeysRevoke = async (id: string) => (await import('./api-keys.ts')).apiKeysRevoke(id);
const backupCreate = async (o: Parameters<typeof import('./backup.ts').backupCreate>[0]) => (await import('./backup.ts')).backupCreate(o);
const backupRestore = async (file: string, o: Parameters<typeof import('./backup.ts').backupRestore>[1]) => (await import('./backup.ts')).backupRestore(file, o);
const backupInspect = async (file: string) => (await import('./backup.ts')).backupInspect(file);
const backupDownload = async (o: Parameters<typeof import('./backup-download.ts').backupDownload>[0]) => (await import('./backup-download.ts')).backupDownload(o);
const auditVerify = async (o: { json?: boolean }) => (await import('./audit.ts')).auditVerify(o);

const program = new Command('kmsgw')
  .description('kms-gateway: one key API in front of cloud KMSs, HSMs and an embedded keystore')
  .showHelpAfterError()
  // Usage mistakes exit 2, as the commands' own do; help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage))
  .addHelpText('after', `
Commands that talk to a running gateway (keys, encrypt, decrypt, discover, inventory, backup download) use
  KMSGW_URL            the gateway (default http://127.0.0.1:8080)
  KMSGW_API_KEY        an API key, or KMSGW_API_KEY_FILE naming a file that holds one
The others (serve, root-key, dr, backup create/restore/inspect, api-keys, audit) work on this host's gateway database and files.

Exit status: 0 done; 1 refused by the gateway (not found, denied, wrong state; the reason is on
stderr); 2 bad usage or configuration; 3 the gateway is unreachable or failed (5xx).`);

const search = (c: Command) => c
  .option('--provider <provider...>', 'local, aws, azure, gcp or pkcs11 (several: any of them)')
  .option('--state <state...>', 'PRE_ACTIVE, ACTIVE, SUSPENDED, DEACTIVATED, COMPROMISED, PENDING_DELETION or DESTROYED (several: any of them)')
  .option('--connection <name...>', 'connections of the gateway (any of them)')
  .option('--spec <spec...>', 'AES_256, RSA_2048, EC_P256, … (several: any of them)')
  .option('--owner <owner>', 'the keys\' owner tag')
  .option('--tag <name:value...>', 'tags the keys must have')
  .option('--observed', 'only keys discovery found that nobody adopted')
  .option('--sort <field>', 'id, createdAt, lastUsedAt, nextRotationAt, state, spec, provider, connection; "-" before it for descending');

const keys = program.command('keys').description('keys, through the gateway\'s API');
search(keys.command('list').description('list keys (a page; --all for every one)'))
  .option('--limit <n>', 'keys per page', '50')
  .option('--all', 'follow the pages to the end')
  .option('--json', 'print JSON')
  .action(action(keysList));
keys.command('show').description('one key: attributes, tags and where it lives').argument('<key>', 'key id or alias/NAME')
  .option('--json', 'print JSON').action(action(keysShow));
const create = keys.command('create').description('make a key; prints its id')
  .requiredOption('--spec <spec>', 'AES_256, RSA_2048, RSA_3072, RSA_4096, EC_P256, EC_P384, EC_SECP256K1, ED25519, HMAC_256, HMAC_384, HMAC_512')
  .requiredOption('--usage <usage>', 'ENCRYPT_DECRYPT, SIGN_VERIFY, MAC or WRAP_UNWRAP')
  .option('--connection <name>', 'where to make it (the default connection otherwise)')
  .option('--alias <name...>', 'aliases')
  .option('--tag <name=value...>', 'tags')
  .option('--description <text>', 'what it is for')
  .option('--rotation-days <n>', 'rotate automatically every n days')
  .option('--json', 'print the key as JSON');
/** Bring your own key: a new key made of it, or an imported key's next version. */
const withMaterial = (c: Command) => c
  .option('--material <file>', 'bring your own key: the key wrapped with RSA_AES_KEY_WRAP for --wrapping-key\'s public key (binary)')
  .option('--wrapping-key <key>', 'with --material: the gateway RSA WRAP_UNWRAP key it is wrapped for')
  .option('--scheme <scheme>', 'with --material: RSA_AES_KEY_WRAP_SHA_256 (default) or RSA_AES_KEY_WRAP_SHA_1');
withMaterial(create).action(action(keysCreate));
for (const [name, description] of [['rotate', 'make a new version current (of your own material, for a key of origin IMPORTED)'], ['suspend', 'stop the key protecting and processing data until reactivated'], ['reactivate', 'undo a suspension']] as const) {
  const command = keys.command(name).description(description).argument('<key>', 'key id or alias/NAME')
    .option('--approval <id>', 'an approved request (apr_…), where policy needs approvals')
    .option('--json', 'print the key as JSON');
  (name === 'rotate' ? withMaterial(command) : command).action(action(keysTransition(name)));
}
keys.command('delete').description('schedule the key\'s destruction after a waiting period (cancel with the API before it ends)').argument('<key>', 'key id or alias/NAME')
  .option('--days <n>', 'the waiting period, 7 to 30 days (30 by default)')
  .option('--approval <id>', 'an approved request (apr_…), where policy needs approvals')
  .option('--json', 'print the key as JSON').action(action(keysDelete));
keys.command('sync').description('make what the key\'s replicas missed and repair envelopes made while one was down, with the job\'s outcome').argument('<key>', 'key id or alias/NAME')
  .option('--no-wait', 'queue the job and print its id without waiting')
  .option('--json', 'print the job as JSON')
  .action(action(keysSync));
keys.command('add-replica').description('give the key a replica on another connection, made by the key\'s sync job (same-material where its material can be copied, every version)')
  .argument('<key>', 'key id or alias/NAME').argument('<connection>', 'the connection to hold the replica')
  .option('--no-wait', 'queue the job and print its id without waiting')
  .option('--json', 'print the job as JSON')
  .action(action(keysAddReplica));

program.command('encrypt').description('encrypt a file or stdin (up to the gateway\'s body limit) into a gateway envelope').argument('<key>', 'key id or alias/NAME')
  .option('--in <file>', 'plaintext file ("-" or none: stdin)')
  .option('--out <file>', 'ciphertext file, written 0600 ("-" or none: stdout)')
  .option('--context <name=value...>', 'encryption context, needed again to decrypt')
  .option('--native', 'the primary backend\'s own ciphertext instead of an envelope (an AWS CiphertextBlob, …); prints what decrypting it takes')
  .action(action(encrypt));
program.command('decrypt').description('decrypt a gateway envelope from a file or stdin; the envelope names its key')
  .option('--in <file>', 'ciphertext file ("-" or none: stdin)')
  .option('--out <file>', 'plaintext file, written 0600 ("-" or none: stdout)')
  .option('--context <name=value...>', 'the encryption context it was made with')
  .option('--native', 'a native ciphertext (encrypt --native), opened by the key version and connection named')
  .option('--key <key>', 'with --native: the key')
  .option('--version <n>', 'with --native: the key version that made it')
  .option('--connection <name>', 'with --native: the connection that made it (the key\'s primary otherwise)')
  .action(action(decrypt));

program.command('discover').description('list every key a connection\'s credentials can see into the inventory, with a progress bar').argument('<connection>', 'the connection')
  .option('--no-wait', 'queue the job and print its id without waiting')
  .option('--json', 'print the job as JSON')
  .action(action(discover));

const inventory = program.command('inventory').description('the key inventory');
search(inventory.command('export').description('export the keys the filters match, for a CMDB'))
  .option('--format <format>', 'csv or jsonl', 'csv')
  .option('--out <file>', 'file to write ("-" or none: stdout)')
  .action(action(inventoryExport));

program.command('serve')
  .description('run the gateway (configured by HOST, PORT, DATABASE_URL, KMSGW_DATA_DIR, KMSGW_CONFIG)')
  .action(serve);

program.command('root-key')
  .description('manage the local keystore\'s root key')
  .command('rotate')
  .description('add a root key version, make it current and re-seal all local key material under it')
  .action(rotateRootKey);

program.command('dr')
  .description('disaster-recovery operations')
  .command('drill')
  .description('prove, key by key, that every key stays usable without one connection; exit status 1 when any is at risk')
  .requiredOption('--without <connection>', 'the connection to take away')
  .option('--json', 'print the findings as JSON')
  .action(drDrill);

const backup = program.command('backup').description('encrypted, signed backup bundles of the inventory, policies and exportable key material');
backup.command('create')
  .description('write a bundle of this gateway\'s keys, policies and exportable material')
  .requiredOption('--encryption-key <key>', 'ENCRYPT_DECRYPT key whose bindings protect the bundle; it must live outside the local keystore and outside the connections whose material the bundle carries')
  .requiredOption('--signing-key <key>', 'SIGN_VERIFY key that signs the bundle, placed likewise')
  .requiredOption('--out <file>', 'the bundle, written 0600')
  .option('--json', 'print the report as JSON')
  .action(backupCreate);
backup.command('restore')
  .description('restore a bundle into this gateway, whose database must have no keys and no policies; exit status 1 when a key is lost')
  .argument('<file>', 'the bundle')
  .option('--onto <lost=connection...>', 'a connection lost with the old gateway, and the one its exportable keys\' material goes to')
  .option('--dry-run', 'verify, open and plan the bundle; change nothing')
  .option('--json', 'print the report as JSON')
  .action(backupRestore);
backup.command('inspect').description('print a bundle\'s header (what it holds, which keys protect it) without opening it').argument('<file>', 'the bundle').action(backupInspect);
backup.command('download')
  .description('have a running gateway make a bundle (POST /v1/backups, through KMSGW_URL) and write it here, as create writes one')
  .requiredOption('--encryption-key <key>', 'ENCRYPT_DECRYPT key whose bindings protect the bundle, placed as for create')
  .requiredOption('--signing-key <key>', 'SIGN_VERIFY key that signs the bundle, placed likewise')
  .requiredOption('--out <file>', 'the bundle, written 0600')
  .option('--approval <id>', 'an approved request (apr_…), where policy needs approvals')
  .option('--json', 'print what the bundle holds as JSON')
  .action(action(backupDownload));

const apiKeys = program.command('api-keys').description('API keys, managed on the gateway\'s host (also the way back in when every administrator key is lost)');
apiKeys.command('create')
  .description('make an API key and print its secret, once')
  .requiredOption('--name <name>', 'what the key is for')
  .requiredOption('--role <role...>', `roles: ${ROLES.join(', ')}`)
  .option('--group <group...>', 'groups (a key tagged kmsgw:users=<group> is usable by crypto-users in it)')
  .option('--expires <date>', 'ISO 8601 expiry; required, within 24 h, for break-glass')
  .option('--json', 'print JSON')
  .action(apiKeysCreate);
apiKeys.command('list').description('list API keys (never their secrets)').option('--json', 'print JSON').action(apiKeysList);
apiKeys.command('revoke').description('revoke an API key at once').argument('<id>', 'the key id, ak_…').action(apiKeysRevoke);

program.command('audit')
  .description('the audit trail')
  .command('verify')
  .description('prove the audit hash chain; exit status 1 names the first broken event')
  .option('--json', 'print the report as JSON')
  .action(auditVerify);

try {
  await program.parseAsync();
} catch (err) {
  // A host command that found the embedded database open in another process: said plainly, as a usage mistake.
  if (!(err instanceof DatabaseInUse)) throw err;
  console.error(`kmsgw: ${err.message}`);
  process.exitCode = EXIT.usage;
}
