// `kmsgw audit verify`: proves the audit chain on the gateway's database. Exit status 1 names the
// first broken event, so a scheduled check can alert.
import { verifyAuditChain } from '../audit/verify.ts';
import { withDatabase } from './database.ts';

export async function auditVerify(options: { json?: boolean }): Promise<void> {
  const report = await withDatabase((database) => verifyAuditChain(database.db, (n) => {
    if (process.stderr.isTTY) process.stderr.write(`\rverified ${n} events…`);
  }));
  if (process.stderr.isTTY) process.stderr.write('\r');
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else if (report.valid) console.log(`audit chain intact: ${report.events} events, head ${report.head}`);
  else console.log(`audit chain BROKEN at event ${report.brokenAt.seq}${report.brokenAt.id ? ` (${report.brokenAt.id})` : ''}: ${report.brokenAt.problem}\n${report.events} events before it verify`);
  process.exitCode = report.valid ? 0 : 1;
}
