#!/usr/bin/env node
import type { CliIo } from './cli/command.js';
import { runCli } from './cli/run.js';

const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
runCli(process.argv.slice(2), io).then(
  (code) => {
    // `serve` keeps the process alive on its own; every other command ends here.
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ony: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
