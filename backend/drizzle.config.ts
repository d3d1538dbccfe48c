import { defineConfig } from 'drizzle-kit';

/** `npm run db:generate -w backend` writes a migration for what changed in src/db/schema.ts. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
  strict: true,
  verbose: true,
});
