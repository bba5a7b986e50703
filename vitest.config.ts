import { defineConfig } from 'vitest/config';

// The same suite runs twice: on PostgreSQL (when DATABASE_URL is set, as in CI) and on PGlite.
const databases = process.env.DATABASE_URL ? ['postgres', 'pglite'] : ['pglite'];

export default defineConfig({
  test: {
    projects: databases.map((db) => ({
      extends: true,
      test: {
        name: db,
        env: { KMSGW_TEST_DB: db },
        // *.pg.test.ts are about PostgreSQL itself (several processes on one server): that project only.
        include: ['test/**/*.test.ts'],
        exclude: db === 'postgres' ? [] : ['test/**/*.pg.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 60_000,
      },
    })),
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
