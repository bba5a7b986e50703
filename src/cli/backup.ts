// `kmsgw backup create|restore|inspect`: backup bundles, on the gateway's host (a restore goes into
// a gateway whose database has no keys and no API keys to call the API with). Restore with the
// gateway stopped, or restart it after: running instances do not see keys appear in their caches.
import { operatorPrincipal } from '../audit/operator.ts';
import { loadConfig } from '../config.ts';
import { backupToFile } from '../dr/backup.ts';
import { readHeader } from '../dr/bundle.ts';
import { restoreBackup, type RestoreReport } from '../dr/restore.ts';
import { isKmsError } from '../errors.ts';
import { newLogger } from '../log.ts';
import { openRuntime, type Runtime } from '../services.ts';

/** A refusal (a bad bundle or option: 2; a state that forbids it: 1) becomes a message and an exit status. */
async function reportingRefusals(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isKmsError(err)) throw err;
    console.error(`kmsgw: ${err.message}`);
    process.exitCode = err.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
}

async function withRuntime(fn: (runtime: Runtime) => Promise<void>): Promise<void> {
  const runtime = await openRuntime(loadConfig(), newLogger('silent'));
  try {
    await reportingRefusals(() => fn(runtime));
  } finally {
    await runtime.close();
  }
}

export async function backupCreate(options: { encryptionKey: string; signingKey: string; out: string; json?: boolean }): Promise<void> {
  await withRuntime(async (runtime) => {
    const progress = ({ keys, of, materials }: { keys: number; of: number; materials: number }) => {
      if (process.stderr.isTTY) process.stderr.write(`\r${keys}/${of} keys, material of ${materials} key versions…`);
    };
    const report = await backupToFile(runtime.services.database.db, runtime.connections, runtime.services.keys, { ...options, principal: operatorPrincipal(), progress });
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (options.json) return console.log(JSON.stringify({ ...report, file: options.out }, null, 2));
    console.log(`${report.id} written to ${options.out}: ${report.keys} keys, ${report.policies} policies, material of ${report.materials} exportable key versions`);
    for (const k of report.notCarried) console.log(`  not recoverable from this bundle: ${k.keyId}: ${k.reason}`);
  });
}

export async function backupRestore(file: string, options: { onto?: string[]; dryRun?: boolean; json?: boolean }): Promise<void> {
  const onto: Record<string, string> = {};
  for (const pair of options.onto ?? []) {
    const [from, to] = pair.split('=');
    if (!from || !to) {
      console.error(`kmsgw: --onto "${pair}" is not <lost connection>=<connection>`);
      process.exitCode = 2;
      return;
    }
    onto[from] = to;
  }
  await withRuntime(async (runtime) => {
    const report = await restoreBackup(runtime.services.database.db, runtime.connections, file, { onto, dryRun: options.dryRun, principal: operatorPrincipal() });
    if (report.lost.length > 0) process.exitCode = 1;
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else printRestore(report);
  });
}

function printRestore(r: RestoreReport): void {
  console.log(`${r.dryRun ? 'would restore' : 'restored'} ${r.bundle} (made ${r.createdAt}): ${r.keys} keys, ${r.policies} policies`);
  for (const i of r.imported) console.log(`  ${i.keyId}: material of ${i.versions} versions from "${i.from}" imported onto "${i.onto}"`);
  for (const p of r.promoted) console.log(`  ${p.keyId}: primary now on "${p.to}" (was "${p.from}")`);
  for (const d of r.dropped) console.log(`  ${d.keyId}: binding on "${d.connection}" dropped`);
  for (const l of r.lost) console.log(`  LOST ${l.keyId}: ${l.reason}`);
  if (r.auditHead) console.log(`the old audit chain ended at event ${r.auditHead.seq}, hash ${r.auditHead.hash}`);
}

export function backupInspect(file: string): Promise<void> {
  return reportingRefusals(async () => console.log(JSON.stringify(await readHeader(file), null, 2)));
}
