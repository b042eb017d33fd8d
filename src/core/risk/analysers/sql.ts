/**
 * Classifies SQL by what each statement does: comments and string literals are stripped first
 * (so a comment splitting a keyword, `-- DELETE` or `'DROP TABLE'` in a string cannot fool it), statements are
 * split on top-level `;`, and each is read by its leading keywords, case-insensitively.
 */
import type { ReasonCode } from '../reasons.js';

export interface SqlFinding {
  readonly reason: ReasonCode;
  readonly statement: string;
}

/**
 * Removes comments (`--`, `#` in MySQL, nested block comments) and replaces string literals ('…',
 * E'…', $tag$…$tag$) and quoted identifiers with placeholders. A comment becomes a space, so a
 * keyword split by a comment reads as two words, as the server would read it.
 */
export function stripSql(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const two = sql.slice(i, i + 2);
    if (two === '--' || (c === '#' && (i === 0 || /\s/.test(sql[i - 1]!)))) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol;
      out += ' ';
    } else if (two === '/*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      out += ' ';
    } else if (c === "'") {
      i++;
      while (i < n) {
        if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === '\\' && i + 1 < n) i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      out += "'s'";
    } else if (c === '"' || c === '`') {
      const end = sql.indexOf(c, i + 1);
      const name = sql.slice(i + 1, end === -1 ? n : end);
      i = end === -1 ? n : end + 1;
      out += /^[A-Za-z0-9_]*$/.test(name) ? name : 'ident';
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_0-9]*\$/.exec(sql.slice(i, i + 66));
      if (tag !== null && !/^\$\d+\$$/.test(tag[0])) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
        out += "'s'";
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function splitStatements(stripped: string): string[] {
  return stripped
    .split(';')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 0);
}

/** Keeps only depth-0 text (drops parenthesised sub-expressions), to find the main verb of a WITH. */
function topLevel(statement: string): string {
  let depth = 0;
  let out = '';
  for (const c of statement) {
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += c;
  }
  return out;
}

/** Functions that change state when merely SELECTed. */
const DATA_CHANGING_FUNCTIONS =
  /\b(?:pg_terminate_backend|pg_cancel_backend|pg_drop_replication_slot|lo_unlink|lo_import|lo_export|lo_from_bytea|setval|dblink_exec|pg_reload_conf|pg_rotate_logfile|pg_promote|pg_switch_wal|pg_create_restore_point|pg_file_write|pg_file_unlink|pg_file_rename|set_config|pg_advisory_lock|nextval|sys_exec|sys_eval|xp_cmdshell|load_file)\s*\(|\bfor\s+(?:no\s+key\s+)?update\b|\binto\s+(?:outfile|dumpfile)\b/;

const ALWAYS_TRUE =
  /\bwhere\s+(?:1\s*=\s*1|true|'s'\s*=\s*'s'|1|0\s*=\s*0|not\s+false|1\s*<>\s*0)\s*$|\bor\s+(?:1\s*=\s*1|true|'s'\s*=\s*'s')\b/i;

function classifyStatement(statement: string): ReasonCode | undefined {
  const lower = statement.toLowerCase();
  // EXPLAIN ANALYZE runs the statement; plain EXPLAIN does not.
  const body = lower.replace(/^explain\s+(?:\([^)]*\)\s*)?(?=analy[sz]e\b)analy[sz]e\s+(?:verbose\s+)?/, '');
  if (/^explain\b/.test(body)) return 'read_only_query';
  const top = /^with\b/.test(body) ? topLevel(body) : body;
  // After a WITH, the main verb is the first one outside the parenthesised CTE bodies.
  const verbMatch = /^with\b/.test(body) ? /\b(?:select|insert|update|delete|merge)\b/.exec(top) : null;
  const main = verbMatch !== null ? top.slice(verbMatch.index) : body;

  if (/^drop\s+(?:database|schema)\b/.test(main)) return 'drop_database';
  if (/^drop\s+owned\b/.test(main)) return 'schema_drop';
  if (/^drop\s+(?:user|role|login|group)\b/.test(main)) return 'iam_change';
  if (/^drop\b/.test(main)) return 'schema_drop';
  if (/^truncate\b/.test(main)) return 'unbounded_delete';
  if (/^alter\s+(?:user|role|login|group)\b/.test(main)) return 'iam_change';
  if (/^alter\s+table\b/.test(main))
    return /\bdrop\s+(?:column\b|constraint\b|primary\b|foreign\b|index\b|partition\b|(?!default|not\b)[a-z_])/.test(
      main,
    )
      ? 'schema_drop'
      : 'schema_change';
  if (/^alter\b/.test(main)) return 'schema_change';
  // GRANT SELECT/USAGE/CONNECT only: read access (a viewer), unless it also grants the grant option.
  if (
    /^grant\s+(?:(?:select|usage|connect|references)\s*,?\s*)+(?:\([^)]*\)\s*)?on\b/.test(main) &&
    !/\bwith\s+grant\s+option\b/.test(main)
  )
    return 'iam_readonly';
  if (/^(?:grant|revoke)\b/.test(main)) return 'iam_change';
  if (/^create\s+(?:or\s+replace\s+)?(?:user|role|login)\b/.test(main)) return 'iam_change';
  if (/^(?:create|rename|comment\s+on|reindex|cluster|vacuum\s+full)\b/.test(main)) return 'schema_change';
  if (/^delete\b/.test(main)) {
    const stmt = topLevel(main);
    return !/\bwhere\b/.test(stmt) || ALWAYS_TRUE.test(stmt) ? 'unbounded_delete' : 'data_modification';
  }
  if (/^update\b/.test(main)) {
    const stmt = topLevel(main);
    return !/\bwhere\b/.test(stmt) || ALWAYS_TRUE.test(stmt) ? 'unbounded_update' : 'data_modification';
  }
  // COPY … TO/FROM PROGRAM runs a shell command on the database server.
  if (/^copy\b.*\bprogram\b/.test(main)) return 'remote_code_pipe';
  if (
    /^(?:insert|replace|merge|upsert|copy\s+\S+\s+from|load\s+data|call|exec|execute)\b|^do\s+'s'/.test(main)
  )
    return 'data_modification';
  if (/^(?:select|values|table)\b/.test(main)) {
    if (/\binto\s+(?!'s')[a-z_]/.test(topLevel(main))) return 'data_modification';
    if (DATA_CHANGING_FUNCTIONS.test(main)) return 'data_modification';
    return 'read_only_query';
  }
  if (/^(?:show|describe|desc)\b/.test(main)) return 'read_only_query';
  if (
    /^(?:set|begin|start\s+transaction|commit|rollback|savepoint|release|use|analy[sz]e|listen|notify|prepare|deallocate|fetch|declare|close|lock|pragma)\b/.test(
      main,
    )
  )
    return undefined;
  if (/^flush(?:all|db)\b/.test(main)) return 'drop_database';
  return 'unrecognized_sql';
}

/** Statements that read as SQL even in text nobody labelled SQL: a verb and the shape that follows it. */
const SQL_SHAPE =
  /^(?:select\s+(?:distinct\s+)?(?:\*|[\w".]+(?:\s*,\s*[\w".]+)*|count\s*\(|[\w".]+\s*\()[\s\S]*\bfrom\b|insert\s+(?:into\s+)?[\w".]+|update\s+[\w".]+\s+set\b|delete\s+from\s+[\w".]+|drop\s+(?:table|database|schema|index|view|user|role|owned|function|procedure|trigger|sequence|type|extension|materialized\s+view|column)\b|truncate\s+(?:table\s+)?(?:only\s+)?[\w".]+(?:\s*,\s*[\w".]+)*(?:\s+(?:restart|continue)\s+identity)?(?:\s+(?:cascade|restrict))?\s*$|alter\s+(?:table|database|user|role|schema|index|view|sequence|system)\b|create\s+(?:or\s+replace\s+)?(?:unique\s+)?(?:table|database|schema|index|view|user|role|function|procedure|trigger|extension|materialized\s+view)\b|grant\s+[\s\S]+\s+(?:on|to)\s|revoke\s+[\s\S]+\s+(?:on|from)\s|merge\s+into\s|copy\s+[\w".]+\s+(?:from|to)\b|explain\s+(?:analy[sz]e\s+)?(?:select|insert|update|delete)\b|with\s+(?:recursive\s+)?\w+\s+as\s*\(|flushall\b|flushdb\b|call\s+[\w".]+\s*\(|exec(?:ute)?\s+[\w".]+|vacuum\s+full\b|reindex\s+(?:table|index|database|schema)\b|cluster\s+[\w".]+|comment\s+on\s|do\s+'s')/i;
const SQL_VERB =
  /^(?:select|insert|update|delete|drop|truncate|alter|create|grant|revoke|merge|copy|explain|with|flushall|flushdb|call|exec|execute|vacuum|reindex|cluster|comment|do)\b/i;

/** Tables a statement reads (FROM and JOIN), as written. */
function tablesRead(statement: string): string[] {
  return [...statement.matchAll(/\b(?:from|join)\s+([\w".]+)/gi)].map((m) => m[1]!.replace(/"/g, ''));
}

export interface SqlOptions {
  /**
   * The text was not labelled SQL: only statements with an SQL shape count (a log line "update
   * available" is not an UPDATE), a statement may start on any line, and unrecognised text is ignored.
   */
  readonly strict?: boolean;
  /** Tables the org marks sensitive: reading them is `sensitive_table_read`. */
  readonly sensitive?: (table: string) => boolean;
}

export function analyseSql(sql: string, options: SqlOptions = {}): SqlFinding[] {
  const findings: SqlFinding[] = [];
  const stripped = stripSql(sql);
  const statements = options.strict
    ? stripped.split(';').flatMap((chunk) => {
        // The statement starts at the first line that starts with an SQL verb.
        const lines = chunk.split('\n');
        const start = lines.findIndex((l) => SQL_VERB.test(l.trim()));
        if (start === -1) return [];
        const s = lines.slice(start).join(' ').replace(/\s+/g, ' ').trim();
        return SQL_SHAPE.test(s) || (/^select\b/i.test(s) && DATA_CHANGING_FUNCTIONS.test(s.toLowerCase()))
          ? [s]
          : [];
      })
    : splitStatements(stripped);
  for (const statement of statements) {
    const reason = classifyStatement(statement);
    if (reason === undefined || (options.strict && reason === 'unrecognized_sql')) continue;
    if (reason === 'read_only_query') {
      const table =
        options.sensitive !== undefined ? tablesRead(statement).find(options.sensitive) : undefined;
      if (table !== undefined)
        findings.push({ reason: 'sensitive_table_read', statement: statement.slice(0, 120) });
      else if (!options.strict) findings.push({ reason, statement: statement.slice(0, 120) });
      continue;
    }
    findings.push({ reason, statement: statement.slice(0, 120) });
  }
  return findings;
}

/** MongoDB shell snippets (`db.dropDatabase()`, `db.users.deleteMany({})`). */
export function analyseMongo(code: string): SqlFinding[] {
  const findings: SqlFinding[] = [];
  const add = (reason: ReasonCode, statement: string): void =>
    void findings.push({ reason, statement: statement.slice(0, 120) });
  if (/\bdropDatabase\s*\(/.test(code)) add('drop_database', 'db.dropDatabase()');
  for (const m of code.matchAll(
    /\.(drop|deleteMany|remove|updateMany|deleteOne|updateOne|insertOne|insertMany|createUser|dropUser|grantRolesToUser|updateUser)\s*\(\s*(\{\s*\})?/g,
  )) {
    const verb = m[1]!;
    const empty = m[2] !== undefined;
    if (verb === 'drop') add('schema_drop', m[0]);
    else if (verb === 'deleteMany' || verb === 'remove')
      add(empty ? 'unbounded_delete' : 'data_modification', m[0]);
    else if (verb === 'updateMany') add(empty ? 'unbounded_update' : 'data_modification', m[0]);
    else if (/User|Roles/.test(verb)) add('iam_change', m[0]);
    else add('data_modification', m[0]);
  }
  return findings;
}
