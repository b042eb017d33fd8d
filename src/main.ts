#!/usr/bin/env node
import type { CliIo } from './cli/command.js';

const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
const argv = process.argv.slice(2);
// Claude Code starts the hook once per tool call: straight to it, without loading the command registry.
const isHook =
  argv[0] === 'hook' && argv[1] === 'claude-code' && !argv.includes('--help') && !argv.includes('-h');
const running = isHook
  ? import('./cli/hook.js').then((m) => m.command.run(argv.slice(2), io))
  : import('./cli/run.js').then((m) => m.runCli(argv, io));
running.then(
  (code) => {
    // `serve` keeps the process alive on its own; every other command ends here.
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    // Exit now: a command that failed half-way (a replica whose start-up failed) may hold pools,
    // timers and workers that would keep the process alive without doing its job.
    process.stderr.write(`ony: ${err instanceof Error ? err.message : String(err)}\n`, () => process.exit(1));
  },
);
