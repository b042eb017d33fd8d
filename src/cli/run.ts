import { commands } from './commands.js';
import type { CliIo } from './command.js';

function topHelp(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'ony: human-in-the-loop approval server for AI agents',
    '',
    'usage: ony <command> [options]     (ony <command> --help for details)',
    '',
    'commands:',
    ...lines,
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topHelp());
    return name === undefined ? 1 : 0;
  }
  // `ony audit verify` style: try the two-word name first.
  const twoWord = rest[0] !== undefined ? `${name} ${rest[0]}` : undefined;
  const entry = (twoWord !== undefined ? commands[twoWord] : undefined) ?? commands[name];
  if (entry === undefined) {
    io.stderr.write(`ony: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  const args = twoWord !== undefined && commands[twoWord] !== undefined ? rest.slice(1) : rest;
  const command = await entry.load();
  // Arguments after `--` belong to another program (`ony gate -- server --help`).
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout.write(command.usage.endsWith('\n') ? command.usage : `${command.usage}\n`);
    return 0;
  }
  return command.run(args, io);
}
