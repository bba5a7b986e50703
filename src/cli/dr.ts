// `kmsgw dr drill --without <connection>`: proves, key by key, that every key stays usable with
// that connection gone, and prints the keys at risk with why and what to do. Exit status 1 when
// any key is at risk, so a scheduled drill can alert.
import { loadConfig } from '../config.ts';
import { drill } from '../dr/drill.ts';
import { newLogger } from '../log.ts';
import { openRuntime } from '../services.ts';

export async function drDrill(options: { without: string; json?: boolean }): Promise<void> {
  const config = loadConfig();
  if (!config.connections.some((c) => c.name === options.without)) {
    console.error(`kmsgw: connection "${options.without}" is not configured (configured: ${config.connections.map((c) => c.name).join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const runtime = await openRuntime(config, newLogger('silent'));
  try {
    const progress = (n: number) => { if (n % 100 === 0 && process.stderr.isTTY) process.stderr.write(`\rchecked ${n} keys…`); };
    const findings = await drill(runtime.services.database.db, runtime.connections, options.without, progress);
    if (process.stderr.isTTY) process.stderr.write('\r');
    const atRisk = findings.filter((f) => f.verdict === 'at-risk');
    if (options.json) {
      console.log(JSON.stringify({ without: options.without, checked: findings.length, atRisk: atRisk.length, findings }, null, 2));
    } else {
      console.log(`DR drill without "${options.without}": ${findings.length} keys checked, ${findings.length - atRisk.length} usable, ${atRisk.length} at risk`);
      for (const f of atRisk) console.log(`  ${f.keyId}  ${f.spec} ${f.usage}\n    why: ${f.reason}\n    fix: ${f.fix}`);
    }
    process.exitCode = atRisk.length > 0 ? 1 : 0;
  } finally {
    await runtime.close();
  }
}
