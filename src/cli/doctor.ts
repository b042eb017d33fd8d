/** `ony doctor`: checks what `ony serve` needs and prints a table (docs/deploy.md "When it will not start"). */
import { ConfigError, loadConfig } from '../config/index.js';
import type { CheckRow } from '../features/doctor/doctor-checks.js';
import type { Command } from './command.js';
import { parseFlags } from './operator.js';

const usage = `usage: ony doctor [--json]

Checks, without serving, sending or changing anything, what \`ony serve\` needs, from the same
environment: the configuration; the database and its login's confinement; pending migrations;
Redis; each configured channel's health (a token or login check, no message); the clock against
the database's; and the public URL as the server sees it. Prints one row per check (ok, warn, fail,
skip) and never a credential. Embedded mode opens the data directory: stop the server first.

  --json  the rows as a JSON array instead of a table

Exit 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on a bad flag.`;

/** The rows as an aligned text table. */
export function renderTable(rows: readonly CheckRow[]): string {
  const width = (key: 'check' | 'status') => Math.max(key.length, ...rows.map((r) => r[key].length));
  const [c, s] = [width('check'), width('status')];
  const line = (a: string, b: string, d: string) => `${a.padEnd(c)}  ${b.padEnd(s)}  ${d}`.trimEnd();
  return (
    [line('CHECK', 'STATUS', 'DETAIL'), ...rows.map((r) => line(r.check, r.status, r.detail))].join('\n') +
    '\n'
  );
}

export const doctor: Command = {
  usage,
  async run(argv, io) {
    const flags = parseFlags('doctor', argv, { json: { type: 'boolean' } }, io, usage);
    if (flags === undefined) return 2;
    let rows: CheckRow[];
    try {
      const config = loadConfig(io.env);
      const { runDoctorChecks } = await import('../features/doctor/doctor-checks.js');
      rows = await runDoctorChecks(config);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Nothing else can be checked without a configuration.
      rows = [{ check: 'config', status: 'fail', detail: err.problems.join('; ') }];
    }
    io.stdout.write(flags.json === true ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
    const failed = rows.filter((r) => r.status === 'fail').length;
    if (failed > 0) io.stderr.write(`ony doctor: ${failed} check${failed === 1 ? '' : 's'} failed\n`);
    return failed > 0 ? 1 : 0;
  },
};
