/** Runs an `ony` command in-process with in-memory streams, as the CLI tests drive it. */
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/run.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runInMemory(
  argv: readonly string[],
  opts: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stdin = opts.stdin ?? '';
  const code = await runCli(argv, {
    stdin: Readable.from([typeof stdin === 'string' ? Buffer.from(stdin) : stdin]),
    stdout,
    stderr,
    env: opts.env ?? {},
  });
  return { code, stdout: out, stderr: err };
}
