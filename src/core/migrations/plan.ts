/**
 * Which migrations to apply and how (pure; db/migrator.ts runs the plan).
 *
 * A migration runs in a transaction with the ones before it, unless its first line is the marker
 * `-- ony:no-transaction`: then it is applied alone, one statement at a time, outside any
 * transaction, because `CREATE INDEX CONCURRENTLY` (the way to index a big table without blocking
 * its writes) cannot run inside one. Such a migration is recorded only once every statement
 * succeeded, so a failed one runs again in full: each statement must be idempotent, and a
 * concurrent index build must say IF NOT EXISTS (the migrator drops an INVALID index that a failed
 * build left behind before building it again). See docs/deploy.md "Writing migrations".
 */

export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
}

export const NO_TRANSACTION_MARKER = '-- ony:no-transaction';

export type MigrationStep =
  | { readonly kind: 'transaction'; readonly migrations: readonly MigrationFile[] }
  | { readonly kind: 'alone'; readonly migration: MigrationFile; readonly statements: readonly string[] };

export interface MigrationPlan {
  /** Not yet applied, in order. */
  readonly pending: readonly MigrationFile[];
  /** Applied, but the file's checksum changed since: an error (migrations are append-only). */
  readonly changed: readonly string[];
  /** How to apply `pending`: consecutive transactional ones together, each marked one alone. */
  readonly steps: readonly MigrationStep[];
}

export function isNoTransaction(text: string): boolean {
  return text.split('\n', 1)[0]!.trim().toLowerCase() === NO_TRANSACTION_MARKER;
}

/** `all` in name order; `applied` maps an applied migration's name to its recorded checksum. */
export function planMigrations(
  all: readonly MigrationFile[],
  applied: ReadonlyMap<string, string>,
): MigrationPlan {
  const changed = all
    .filter((m) => applied.has(m.name) && applied.get(m.name) !== m.sha256)
    .map((m) => m.name);
  const pending = all.filter((m) => !applied.has(m.name));
  const steps: MigrationStep[] = [];
  let batch: MigrationFile[] = [];
  for (const m of pending) {
    if (!isNoTransaction(m.sql)) {
      batch.push(m);
      continue;
    }
    if (batch.length > 0) steps.push({ kind: 'transaction', migrations: batch });
    batch = [];
    steps.push({ kind: 'alone', migration: m, statements: noTransactionStatements(m) });
  }
  if (batch.length > 0) steps.push({ kind: 'transaction', migrations: batch });
  return { pending, changed, steps };
}

export function changedMigrationMessage(names: readonly string[]): string {
  return `migration ${names.join(', ')} was changed after it was applied; add a new migration instead`;
}

function noTransactionStatements(m: MigrationFile): string[] {
  const statements = splitStatements(m.sql);
  for (const s of statements) {
    if (/^create\s+(unique\s+)?index\s+concurrently\s+(?!if\s+not\s+exists\b)/i.test(s)) {
      throw new Error(
        `migration ${m.name}: a concurrent index build must say IF NOT EXISTS, so that a retry after a failure can finish it`,
      );
    }
  }
  return statements;
}

/** The index a `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name …` statement builds. */
export function concurrentIndexName(statement: string): string | undefined {
  return /^create\s+(?:unique\s+)?index\s+concurrently\s+if\s+not\s+exists\s+("(?:[^"]|"")+"|[\w$.]+)/i.exec(
    statement,
  )?.[1];
}

const DOLLAR_QUOTE = /\$(?:[A-Za-z_]\w*)?\$/y;

/**
 * The statements of a SQL script, without comments, split at top-level semicolons: quoted strings,
 * quoted identifiers, comments and dollar-quoted bodies are skipped over.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  const flush = (): void => {
    const s = current.trim();
    if (s !== '') statements.push(s);
    current = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    let end: number;
    if (text.startsWith('--', i)) {
      end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
      current += ' ';
      continue;
    }
    if (text.startsWith('/*', i)) {
      end = text.indexOf('*/', i + 2);
      if (end === -1) throw new Error('unterminated /* comment');
      i = end + 2;
      current += ' ';
      continue;
    }
    DOLLAR_QUOTE.lastIndex = i;
    const dollar = DOLLAR_QUOTE.exec(text);
    if (c === "'" || c === '"' || dollar) {
      const close = dollar ? dollar[0] : c;
      end = text.indexOf(close, i + close.length);
      // '' and "" inside a quoted string escape the quote; they are skipped over as a pair.
      while (!dollar && end !== -1 && text[end + 1] === close) end = text.indexOf(close, end + 2);
      if (end === -1) throw new Error(`unterminated ${close} quote`);
      current += text.slice(i, end + close.length);
      i = end + close.length;
      continue;
    }
    if (c === ';') flush();
    else current += c;
    i += 1;
  }
  flush();
  return statements;
}
