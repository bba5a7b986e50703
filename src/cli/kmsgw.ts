#!/usr/bin/env tsx
// kmsgw: the gateway's command line. `serve` runs the gateway; the rest are operator commands.
import { Command } from 'commander';
import { serve } from './serve.ts';
import { rotateRootKey } from './root-key.ts';
import { drDrill } from './dr.ts';

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

await program.parseAsync();
