import { defineConfig } from 'vitest/config';

// The same suite runs twice: on PostgreSQL (when DATABASE_URL is set, as in CI) and on PGlite.
const databases = process.env.DATABASE_URL ? ['postgres', 'pglite'] : ['pglite'];

export default defineConfig({
  test: {
    projects: databases.map((db) => ({
      extends: true,
      test: { name: db, env: { KMSGW_TEST_DB: db }, include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
    })),
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
