// `kmsgw serve`: start the gateway and stop it cleanly on SIGINT/SIGTERM.
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { newApp } from '../http/app.ts';
import { listen } from '../http/server.ts';
import { startLifecycleSweep } from '../jobs/lifecycle-sweep.ts';
import { every, SCHEDULE } from '../jobs/every.ts';
import { newLogger } from '../log.ts';
import { openRuntime } from '../services.ts';
import { bootstrapAdminKey } from '../auth/api-keys.ts';
import { databaseTarget, openDatabase } from '../db/client.ts';
import { DatabaseInUse } from '../db/in-use.ts';

export async function serve(): Promise<void> {
  try {
    await start(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DatabaseInUse) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

async function start(config: Config): Promise<void> {
  const logger = newLogger(config.logLevel);
  // A restart after a crash finds the dead process's lock on the embedded database, taken over once stale.
  const lockWait = { ms: 25_000, onWait: () => logger.warn('the embedded database is held by another process; waiting up to 25 s for it (a lock its dead process left goes stale in 20 s)') };
  const runtime = await openRuntime(config, logger, await openDatabase(databaseTarget(config), { lockWait }));
  const adminKey = await bootstrapAdminKey(runtime.services.database.db, config.bootstrapAdminKey);
  if (adminKey) {
    // Straight to the terminal, not the log: the secret is shown this once and kept nowhere.
    process.stderr.write(`\nFirst start: an administrator API key was made. It is shown only now; keep it safe:\n\n  ${adminKey}\n\n`);
  }
  await runtime.jobs.start();
  const stopSweep = startLifecycleSweep(runtime.services.database.db, runtime.services.keys, logger, config.sweepIntervalSeconds * 1000);
  // Checked each minute; every instance checks, and the last job of a kind tells them all it is not yet due.
  const { inventory } = runtime.services;
  const stopDiscovery = schedule(config.discoverEverySeconds, (ms) => inventory.discoverDue(ms), (err) => logger.error({ err }, 'scheduled discovery failed'));
  const stopScan = schedule(config.complianceScanEverySeconds, (ms) => inventory.scanDue(ms), (err) => logger.error({ err }, 'scheduled compliance scan failed'));
  // A rotation queues its own sync; this picks up envelopes to repair, and keys whose sync ran out of attempts during a long outage.
  const stopSync = config.syncEverySeconds > 0
    ? every(config.syncEverySeconds * 1000, () => runtime.replicaSync.queueDue(SCHEDULE), (err) => logger.error({ err }, 'scheduled replica sync failed'))
    : () => {};
  const app = newApp(runtime.services, { maxBodyBytes: config.maxBodyBytes });
  const server = listen(app, config, (info) => {
    logger.info({ ...info, database: runtime.services.database.kind, connections: runtime.connections.all().map((c) => c.name) }, 'kms-gateway listening');
  });
  const stop = () => {
    logger.info('shutting down');
    stopSweep();
    stopDiscovery();
    stopScan();
    stopSync();
    server.close(() => void runtime.close().then(() => logger.flush(() => process.exit(0))));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** A job queued every `seconds` (0: never), checked at least each minute. */
function schedule(seconds: number, queueDue: (everyMs: number) => Promise<unknown>, onError: (err: unknown) => void): () => void {
  const ms = seconds * 1000;
  return ms > 0 ? every(Math.min(60_000, ms), () => queueDue(ms), onError) : () => {};
}
