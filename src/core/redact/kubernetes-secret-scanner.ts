/**
 * Kubernetes `Secret` objects: every value under `data:` / `stringData:` in a YAML document whose
 * `kind` is `Secret` (diff markers allowed), and every value of a `"data"` / `"stringData"` map in JSON
 * when the text holds a `"kind": "Secret"`. Keys stay visible; values go.
 */
import type { RedactionFinding } from './secret-types.js';

const YAML_KIND_SECRET = /^[+\- ]?[ \t]*kind:[ \t]*["']?Secret["']?[ \t]*\r?$/gm;
const DOCUMENT_SEPARATOR = /^[+\- ]?---/gm;
const JSON_KIND_SECRET = /"kind"[ \t]{0,4}:[ \t]{0,4}"Secret"/;
const JSON_DATA_OPEN = /"(?:data|stringData)"\s{0,16}:\s{0,16}\{/g;
const JSON_ENTRY = /\s{0,64}"[^"\\\n]{1,253}"\s{0,16}:\s{0,16}"((?:[^"\\\n]|\\.)*)"\s{0,16},?/y;

interface Line {
  readonly start: number;
  readonly end: number;
  /** Indentation after an optional one-character diff marker. */
  readonly indent: number;
  readonly body: string;
  readonly bodyStart: number;
}

function splitLines(text: string, from: number, to: number, diffMarkers: boolean): Line[] {
  const lines: Line[] = [];
  let pos = from;
  while (pos < to) {
    let eol = text.indexOf('\n', pos);
    if (eol === -1 || eol > to) eol = to;
    let lineText = text.slice(pos, eol);
    if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
    const marker = diffMarkers && /^[+\- ]/.test(lineText) ? 1 : 0;
    const afterMarker = lineText.slice(marker);
    const indent = afterMarker.length - afterMarker.trimStart().length;
    lines.push({
      start: pos,
      end: pos + lineText.length,
      indent,
      body: afterMarker.trimStart(),
      bodyStart: pos + marker + indent,
    });
    pos = eol + 1;
  }
  return lines;
}

function redactYamlDocument(
  text: string,
  from: number,
  to: number,
  diffMarkers: boolean,
  out: RedactionFinding[],
): void {
  const lines = splitLines(text, from, to, diffMarkers);
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i]!;
    if (!/^(?:data|stringData):[ \t]*$/.test(header.body)) continue;
    let j = i + 1;
    while (j < lines.length) {
      const line = lines[j]!;
      if (line.body.length === 0 || line.body.startsWith('#')) {
        j++;
        continue;
      }
      if (line.indent <= header.indent) break;
      const entry = /^([-._a-zA-Z0-9]{1,253}):[ \t]*(.*)$/.exec(line.body);
      if (entry !== null) {
        const value = entry[2]!;
        if (/^[|>][+\-0-9]*[ \t]*$/.test(value)) {
          // Block scalar: every following line indented deeper than the entry.
          let k = j + 1;
          while (k < lines.length && (lines[k]!.indent > line.indent || lines[k]!.body.length === 0)) k++;
          while (k > j + 1 && lines[k - 1]!.body.length === 0) k--;
          if (k > j + 1)
            out.push({
              type: 'kubernetes-secret-data',
              start: lines[j + 1]!.bodyStart,
              end: lines[k - 1]!.end,
            });
          j = k;
          continue;
        } else if (value.length > 0 && !value.startsWith('[REDACTED:')) {
          const valueStart = line.bodyStart + line.body.length - value.length;
          out.push({ type: 'kubernetes-secret-data', start: valueStart, end: line.end });
        }
      }
      j++;
    }
    i = j - 1;
  }
}

function redactJsonData(text: string, out: RedactionFinding[]): void {
  const open = new RegExp(JSON_DATA_OPEN.source, 'g');
  while (open.exec(text) !== null) {
    const entry = new RegExp(JSON_ENTRY.source, 'yd');
    entry.lastIndex = open.lastIndex;
    let e: RegExpExecArray | null;
    while ((e = entry.exec(text)) !== null) {
      const span = e.indices![1]!;
      if (span[1] > span[0]) out.push({ type: 'kubernetes-secret-data', start: span[0], end: span[1] });
      if (entry.lastIndex === e.index) break;
    }
    open.lastIndex = Math.max(open.lastIndex, entry.lastIndex);
  }
}

export function scanKubernetesSecrets(text: string): RedactionFinding[] {
  if (!text.includes('Secret')) return [];
  const out: RedactionFinding[] = [];
  const kinds: number[] = [];
  const kindRe = new RegExp(YAML_KIND_SECRET.source, 'gm');
  let m: RegExpExecArray | null;
  const diffMarked: boolean[] = [];
  while ((m = kindRe.exec(text)) !== null) {
    kinds.push(m.index);
    diffMarked.push(/^[+\- ]/.test(m[0]));
  }
  if (kinds.length > 0) {
    const separators: number[] = [];
    const sepRe = new RegExp(DOCUMENT_SEPARATOR.source, 'gm');
    while ((m = sepRe.exec(text)) !== null) separators.push(m.index);
    let s = 0;
    let lastDocStart = -1;
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[k]!;
      while (s < separators.length && separators[s]! <= kind) s++;
      const docStart = s > 0 ? separators[s - 1]! : 0;
      const docEnd = s < separators.length ? separators[s]! : text.length;
      if (docStart === lastDocStart) continue;
      lastDocStart = docStart;
      redactYamlDocument(text, docStart, docEnd, diffMarked[k]!, out);
    }
  }
  if (JSON_KIND_SECRET.test(text)) redactJsonData(text, out);
  return out;
}
