import type { Readable } from 'node:stream';
import { redact } from '../core/redact/index.js';
import type { Command } from './command.js';

const usage = `usage: ony redact [--json]

Reads text on stdin and writes it to stdout with every secret replaced by [REDACTED:<type>].

  --json   print {"text": …, "findings": [{"type", "start", "end"}]} instead (offsets are UTF-16
           code units in the input)

Exit codes: 0 done, 1 input is not UTF-8 text, 2 bad usage.
`;

async function readBytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

export const command: Command = {
  usage,
  async run(argv, io) {
    const unknown = argv.filter((a) => a !== '--json');
    if (unknown.length > 0) {
      io.stderr.write(`ony redact: unknown option ${unknown[0]}\n\n${usage}`);
      return 2;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readBytes(io.stdin));
    } catch {
      io.stderr.write('ony redact: stdin is not valid UTF-8 text\n');
      return 1;
    }
    const result = redact(text);
    io.stdout.write(argv.includes('--json') ? `${JSON.stringify(result)}\n` : result.text);
    return 0;
  },
};
