#!/usr/bin/env tsx
// kmsgw: the gateway's command line. `serve` runs the gateway; the rest are operator commands.
import { Command } from 'commander';
import { serve } from './serve.ts';
import { rotateRootKey } from './root-key.ts';

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

await program.parseAsync();
