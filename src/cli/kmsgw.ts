#!/usr/bin/env tsx
// kmsgw: the gateway's command line. `serve` runs the gateway; the rest are operator commands.
import { Command } from 'commander';
import { serve } from './serve.ts';
import { rotateRootKey } from './root-key.ts';
import { drDrill } from './dr.ts';
import { apiKeysCreate, apiKeysList, apiKeysRevoke } from './api-keys.ts';
import { auditVerify } from './audit.ts';
import { ROLES } from '../auth/identity.ts';

const program = new Command('kmsgw')
  .description('kms-gateway: one key API in front of cloud KMSs, HSMs and an embedded keystore')
  .showHelpAfterError();

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

await program.parseAsync();
