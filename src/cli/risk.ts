import {
  explainRisk,
  formatExplanation,
  parseRiskInput,
  parseRiskPolicy,
  type RiskPolicy,
} from '../core/risk/index.js';
import { readAll, type Command } from './command.js';
import { forTerminal } from './terminal.js';

const usage = `usage: ony risk [--explain] [--policy <policy.json>]

Reads a handoff as JSON on stdin (the body of POST /v1/handoffs), derives its risk and prints
{"level": "low|medium|high|critical", "reasons": [...]}. Any "risk" the handoff claims is ignored.

  {"action": {"type": "shell.exec", "target": "web-1"}, "title": "…", "summary": "…",
   "payload": {"kind": "command", "content": "rm -rf build"}, "context": {"environment": "staging"}}

  --explain          print a human-readable explanation instead of JSON
  --policy <file>    apply an org risk policy (JSON, see docs/risk.md) instead of the defaults

Exit codes: 0 done, 1 malformed handoff or policy, 2 bad usage.
`;

function parseArgs(argv: readonly string[]): { explain: boolean; policyFile?: string } | string {
  let explain = false;
  let policyFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--explain') explain = true;
    else if (a === '--policy') {
      policyFile = argv[++i];
      if (policyFile === undefined) return '--policy needs a file';
    } else if (a.startsWith('--policy=')) policyFile = a.slice('--policy='.length);
    else return `unknown option ${a}`;
  }
  return policyFile !== undefined ? { explain, policyFile } : { explain };
}

function parseJson(text: string, what: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      error: `${what} is not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    };
  }
}

export const command: Command = {
  usage,
  async run(argv, io) {
    const args = parseArgs(argv);
    if (typeof args === 'string') {
      io.stderr.write(`ony risk: ${args}\n\n${usage}`);
      return 2;
    }
    let policy: RiskPolicy | undefined;
    if (args.policyFile !== undefined) {
      const { readFile } = await import('node:fs/promises');
      let text: string;
      try {
        text = await readFile(args.policyFile, 'utf8');
      } catch (err) {
        io.stderr.write(
          `ony risk: cannot read policy ${args.policyFile}: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        return 1;
      }
      const json = parseJson(text, 'the policy');
      if (!json.ok) {
        io.stderr.write(`ony risk: ${json.error}\n`);
        return 1;
      }
      const parsed = parseRiskPolicy(json.value);
      if (!parsed.ok) {
        io.stderr.write(`ony risk: invalid policy:\n${parsed.errors.map((e) => `  - ${e}\n`).join('')}`);
        return 1;
      }
      policy = parsed.value;
    }
    const input = await readAll(io.stdin);
    if (input.trim().length === 0) {
      io.stderr.write('ony risk: expected a handoff JSON object on stdin, got nothing\n');
      return 1;
    }
    const json = parseJson(input, 'stdin');
    if (!json.ok) {
      io.stderr.write(`ony risk: ${json.error}\n`);
      return 1;
    }
    const parsed = parseRiskInput(json.value);
    if (!parsed.ok) {
      io.stderr.write(`ony risk: invalid handoff:\n${parsed.errors.map((e) => `  - ${e}\n`).join('')}`);
      return 1;
    }
    const explanation = explainRisk(parsed.value, policy);
    // The evidence quotes the handoff's own text: shown, never applied to the terminal.
    if (args.explain) io.stdout.write(forTerminal(formatExplanation(explanation)));
    else io.stdout.write(`${JSON.stringify({ level: explanation.level, reasons: explanation.reasons })}\n`);
    return 0;
  },
};
