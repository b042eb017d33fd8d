/** `ony serve`, `ony migrate`, `ony setup`, `ony keygen`: the operator's commands. */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { changedMigrationMessage, isNoTransaction, type MigrationPlan } from '../core/migrations/plan.js';
import { readAll, type CliIo, type Command } from './command.js';

export function configOrExit(io: CliIo): Config | undefined {
  try {
    return loadConfig(io.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`ony: ${err.message}\nSee .env.example for every variable.\n`);
      return undefined;
    }
    throw err;
  }
}

export const serve: Command = {
  usage: `usage: ony serve

Starts the HTTP server. Without DATABASE_URL it runs embedded (PGlite in ONY_DATA_DIR, default ./data,
and an in-memory store), migrating at start-up. With DATABASE_URL (and REDIS_URL) it uses Postgres
(and Redis); DATABASE_URL must be a confined login (not superuser, BYPASSRLS or CREATEROLE, not a
member of ony_owner, owning none of ony's objects; ONY_ALLOW_PRIVILEGED_DB_LOGIN=1 overrides, loudly).
With ONY_MIGRATE_DATABASE_URL (the owner credential) it migrates with that at start-up and grants
DATABASE_URL's login its rights; otherwise run \`ony migrate\` first: it refuses to start on a database
that lacks a migration of this version, or when the database or Redis cannot be reached, saying
which in one line (\`ony doctor\` checks all of it). See docs/deploy.md.
Stops gracefully on SIGINT/SIGTERM (drains requests, closes pools).`,
  async run(_argv, io) {
    const config = configOrExit(io);
    if (!config) return 2;
    const { createContainer } = await import('../container.js');
    const { buildApp } = await import('../http/app.js');
    const container = await createContainer(config);
    const app = await buildApp(container);
    await container.startWorkers();
    await app.listen({ host: config.host, port: config.port });
    const log = container.logger;
    const { startMetricsListener } = await import('../features/metrics/metrics.routes.js');
    const metricsListen = config.metrics.listen;
    const metricsServer =
      metricsListen !== undefined
        ? await startMetricsListener(container.metrics, { ...config.metrics, listen: metricsListen })
        : undefined;
    if (metricsListen !== undefined)
      log.info({ host: metricsListen.host, port: metricsListen.port }, 'metrics listening at /metrics');
    log.info({ url: config.publicUrl, mode: config.mode, store: container.store.kind }, 'ony is listening');
    io.stdout.write(
      `\nony ${config.mode} mode, listening on http://${config.host}:${config.port}  (public URL ${config.publicUrl})\n`,
    );
    if (!(await container.setup.orgExists())) {
      const token = await container.setup.issueSetupToken();
      io.stdout.write(
        `\nFirst run: create your organization and admin account with this one-time setup token (valid 24 h):\n` +
          `  ${token}\n` +
          `for example:\n` +
          `  curl -X POST ${config.publicUrl}/v1/setup -H 'content-type: application/json' \\\n` +
          `    -d '{"setup_token":"${token}","org_name":"Acme","email":"you@example.com","name":"You","password":"at least 12 characters"}'\n` +
          `or on the server: npx ony setup --org-name Acme --email you@example.com --name You  (password on stdin)\n\n`,
      );
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: draining requests');
      metricsServer?.close();
      void app
        .close()
        .then(() => container.close())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    return -1;
  },
};

const migrateUsage = `usage: ony migrate [--database-url URL] [--grant-runtime ROLE]
       ony migrate --dry-run [--database-url URL]

Applies pending SQL migrations (migrations/*.sql, in order, each once) with the owner credential:
--database-url, else ONY_MIGRATE_DATABASE_URL, else DATABASE_URL; or to the embedded database in
ONY_DATA_DIR. Creates the roles ony_owner and ony_app; the connecting login needs CREATEROLE (or
the roles must exist) and membership in both (a superuser will do).

  --grant-runtime ROLE  also give the confined runtime login ROLE (the one in DATABASE_URL for
                        \`ony serve\`) what it needs: membership of ony_app, and CREATE on the
                        database so pg-boss can install its own schema. ROLE must exist and must
                        not be privileged. See docs/deploy.md.
  --dry-run             list the pending migrations and change nothing; exits 1 if an applied
                        migration's file was changed since (migrations are append-only).`;

export const migrateCommand: Command = {
  usage: migrateUsage,
  async run(argv, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          'database-url': { type: 'string' },
          'grant-runtime': { type: 'string' },
          'dry-run': { type: 'boolean' },
        },
        strict: true,
      }));
    } catch (err) {
      io.stderr.write(`ony migrate: ${(err as Error).message}\n\n${migrateUsage}\n`);
      return 2;
    }
    if (values['dry-run'] === true && values['grant-runtime'] !== undefined) {
      io.stderr.write(
        `ony migrate: --dry-run changes nothing, so it takes no --grant-runtime\n\n${migrateUsage}\n`,
      );
      return 2;
    }
    const url = values['database-url'];
    if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) {
      io.stderr.write('ony migrate: --database-url must be a postgres:// URL\n');
      return 2;
    }
    const config = configOrExit(io);
    if (!config) return 2;
    const ownerUrl = url ?? config.migrateDatabaseUrl;
    const role = values['grant-runtime'];
    if (role !== undefined && ownerUrl === undefined && config.databaseUrl === undefined) {
      io.stderr.write('ony migrate: --grant-runtime needs Postgres; embedded mode has one login\n');
      return 2;
    }
    const { openDatabase } = await import('../container.js');
    const { connectPostgres, probeDatabase } = await import('../db/client.js');
    const { grantRuntime, migrate, planPending } = await import('../db/migrator.js');
    const database = ownerUrl !== undefined ? connectPostgres(ownerUrl, 1) : await openDatabase(config);
    try {
      const target = ownerUrl ?? config.databaseUrl;
      if (target !== undefined) {
        const from =
          url !== undefined
            ? '--database-url'
            : ownerUrl !== undefined
              ? 'ONY_MIGRATE_DATABASE_URL'
              : 'DATABASE_URL';
        await probeDatabase(database, target, from);
      }
      if (values['dry-run'] === true) return writePlan(await planPending(database.db), io);
      const applied = await migrate(database.db);
      io.stdout.write(applied.length === 0 ? 'database is up to date\n' : `applied: ${applied.join(', ')}\n`);
      if (role !== undefined) {
        try {
          await grantRuntime(database.db, role);
        } catch (err) {
          io.stderr.write(`ony migrate: --grant-runtime: ${(err as Error).message}\n`);
          return 1;
        }
        io.stdout.write(`granted the runtime login ${role} the app role ony_app\n`);
      }
      return 0;
    } finally {
      await database.close();
    }
  },
};

function writePlan(plan: MigrationPlan, io: CliIo): number {
  if (plan.changed.length > 0) {
    io.stderr.write(`ony migrate: ${changedMigrationMessage(plan.changed)}\n`);
    return 1;
  }
  if (plan.pending.length === 0) {
    io.stdout.write('database is up to date; nothing pending\n');
    return 0;
  }
  const lines = plan.pending.map(
    (m) => `  ${m.name}${isNoTransaction(m.sql) ? '  (outside a transaction, alone)' : ''}`,
  );
  io.stdout.write(`pending (${plan.pending.length}):\n${lines.join('\n')}\n`);
  return 0;
}

export const setupCommand: Command = {
  usage: `usage: ony setup --org-name NAME --email EMAIL --name NAME [--slug SLUG]
       ony setup --token

Creates an organization and its first admin directly (the operator's path). The password is read
from the first line of standard input (never a flag, so it stays out of shell history), e.g.
  printf '%s\\n' "$ADMIN_PASSWORD" | ony setup --org-name Acme --email a@acme.test --name Alice
--token prints a new one-time setup token instead (valid 24 h), for POST /v1/setup.`,
  async run(argv, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          'org-name': { type: 'string' },
          email: { type: 'string' },
          name: { type: 'string' },
          slug: { type: 'string' },
          token: { type: 'boolean' },
        },
        strict: true,
      }));
    } catch (err) {
      io.stderr.write(`ony setup: ${(err as Error).message}\n\n${this.usage}\n`);
      return 2;
    }
    if (!values.token && (!values['org-name'] || !values.email || !values.name)) {
      io.stderr.write(`ony setup: --org-name, --email and --name are required\n\n${this.usage}\n`);
      return 2;
    }
    const config = configOrExit(io);
    if (!config) return 2;
    const { createContainer } = await import('../container.js');
    const container = await createContainer(config, {
      logger: (await import('../lib/logger.js')).createLogger('warn'),
    });
    try {
      if (values.token) {
        io.stdout.write(`${await container.setup.issueSetupToken()}\n`);
        return 0;
      }
      const password = (await readAll(io.stdin)).split(/\r?\n/)[0] ?? '';
      const { AppError } = await import('../lib/errors.js');
      try {
        const r = await container.setup.createOrg({
          orgName: values['org-name']!,
          slug: values.slug,
          admin: { email: values.email!, name: values.name!, password },
        });
        io.stdout.write(`created organization ${r.slug} (${r.orgId}) with admin ${values.email}\n`);
        return 0;
      } catch (err) {
        if (err instanceof AppError) {
          io.stderr.write(`ony setup: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
    } finally {
      await container.close();
    }
  },
};

export const keygen: Command = {
  usage: `usage: ony keygen [--signing]

Prints a new random 32-byte key, base64-encoded: a master key for ONY_MASTER_KEY, or with --signing
an Ed25519 seed for ONY_AUDIT_SIGNING_KEY (its public key is then served at /.well-known/ony-audit-key).`,
  async run(argv, io) {
    const unknown = argv.filter((a) => a !== '--signing');
    if (unknown.length > 0) {
      io.stderr.write(`ony keygen: unknown option ${unknown[0]}\n`);
      return 2;
    }
    // Both are 32 uniformly random bytes; an Ed25519 private key is exactly such a seed.
    io.stdout.write(`${randomBytes(32).toString('base64')}\n`);
    return 0;
  },
};
