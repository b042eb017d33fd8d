/**
 * Commands that read or change data: database clients (psql, mysql, sqlite3, sqlcmd, clickhouse…)
 * whose SQL is read statement by statement, dropdb and mysqladmin, redis-cli, the mongo shell, and
 * code handed to an interpreter (`python -c`, `node -e`): deletes, decoded or downloaded code run
 * with exec/eval, and shell commands in its strings.
 */
import { analyseMongo, analyseSql } from '../sql.js';
import { evidenceOf, operands } from './args.js';
import type { ShellReader, ShellReaders, ShellScope } from './scope.js';

/** SQL given with -c/-e/--query, as sqlite3's or duckdb's second operand, or as a here-document. */
const sqlClient: ShellReader = ({ name, args, cmd }, { out }) => {
  let sql: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (
      a === '-c' ||
      a === '--command' ||
      a === '-e' ||
      a === '--execute' ||
      a === '-q' ||
      a === '-Q' ||
      a === '--query'
    )
      sql = (sql ?? '') + ';' + (args[i + 1] ?? '');
    else if (/^--(?:command|execute|query)=/.test(a)) sql = (sql ?? '') + ';' + a.slice(a.indexOf('=') + 1);
    else if (/^-e./.test(a) && name !== 'psql') sql = (sql ?? '') + ';' + a.slice(2);
  }
  if (name === 'sqlite3' || name === 'duckdb') {
    const pos = operands(args);
    if (pos.length >= 2) sql = pos.slice(1).join(';');
  }
  const body = cmd.redirects.find((r) => r.body !== undefined)?.body;
  if (body !== undefined) sql = (sql ?? '') + ';' + body;
  if (sql === undefined) return;
  for (const f of analyseSql(sql)) out.add(f.reason, `${name}: ${f.statement}`);
};

const dropDatabase: ShellReader = ({ ev }, { out }) => {
  out.add('drop_database', ev);
};

const mysqladmin: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => a === 'drop')) out.add('drop_database', ev);
  else if (args.some((a) => /^(?:shutdown)$/.test(a))) out.add('system_shutdown', ev);
};

const redis: ShellReader = ({ args, ev }, { out }) => {
  const text = args.join(' ').toUpperCase();
  if (/\bFLUSH(?:ALL|DB)\b/.test(text)) out.add('drop_database', ev);
  else if (/\b(?:SHUTDOWN)\b/.test(text)) out.add('system_shutdown', ev);
  else if (/\b(?:DEL|UNLINK|SET|HSET|EXPIRE|CONFIG\s+SET)\b/.test(text)) out.add('data_modification', ev);
};

const mongo: ShellReader = ({ args, cmd }, { out }) => {
  const e = args.findIndex((a) => a === '--eval');
  const code = e !== -1 ? args[e + 1] : cmd.redirects.find((r) => r.body !== undefined)?.body;
  if (code !== undefined) for (const f of analyseMongo(code)) out.add(f.reason, f.statement);
};

/** Code given to an interpreter (`python -c`, `perl -e`, `node --eval`…). */
export function analyseInterpreterCode(code: string, scope: ShellScope): void {
  const { out } = scope;
  if (
    /\bfork\s+while\s+fork\b|while\s*\(?\s*(?:True|1|true)\s*\)?\s*:?\s*\{?\s*(?:os\.)?fork\s*\(|(?:os\.)?fork\(\)\s*(?:while|until)\b|loop\s*\{\s*fork/.test(
      code,
    )
  )
    out.add('fork_bomb', evidenceOf([code]));
  if (/\bshutil\.rmtree\s*\(\s*['"](?:\/|~|\/home|\/etc|\/usr|\/var)['"]/.test(code))
    out.add('recursive_delete_root', evidenceOf([code]));
  else if (
    /\bshutil\.rmtree\b|\bfs\.rm(?:Sync)?\s*\([^)]*recursive\s*:\s*true|\bFileUtils\.rm_r[f]?\b|\brmtree\b/.test(
      code,
    )
  )
    out.add('destructive_delete', evidenceOf([code]));
  if (
    /\b(?:b64decode|atob|Buffer\.from\([^)]*base64|decode\(['"]base64)\b/.test(code) &&
    /\b(?:exec|eval|system|popen|spawn|execSync|subprocess)\b/.test(code)
  ) {
    out.add('obfuscated_command', evidenceOf([code]));
  }
  if (
    /\b(?:urlopen|requests\.get|fetch|http\.get|open-uri|LWP::Simple)\b/.test(code) &&
    /\b(?:exec|eval)\s*\(/.test(code)
  )
    out.add('remote_code_pipe', evidenceOf([code]));
  if (
    /\b(?:os\.system|subprocess\.\w+|os\.popen|exec(?:Sync)?|spawn(?:Sync)?|system|`|%x|Popen)\b/.test(
      code,
    ) ||
    /`[^`]+`/.test(code)
  ) {
    for (const m of code.matchAll(/(["'`])((?:(?!\1)[^\\\n]|\\.){2,2000})\1/g)) scope.nested(m[2]!);
  }
}

export const DATA_READERS: ShellReaders = [
  [
    ['psql', 'mysql', 'mariadb', 'sqlite3', 'sqlcmd', 'cockroach', 'clickhouse-client', 'duckdb', 'cqlsh'],
    sqlClient,
  ],
  [['dropdb', 'pg_dropcluster'], dropDatabase],
  [['mysqladmin'], mysqladmin],
  [['redis-cli', 'valkey-cli', 'keydb-cli'], redis],
  [['mongo', 'mongosh'], mongo],
];
