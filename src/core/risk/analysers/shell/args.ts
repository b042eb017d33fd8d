/**
 * Reading an argv: the program's base name, short and long flags, operands, a flag whose value is
 * zero, and the evidence string a finding quotes. Knows nothing about any particular program.
 */

/** The program a word names: no directory, no `.exe`. */
export function basename(word: string): string {
  const base = word.replace(/^.*[/\\]/, '');
  return base.replace(/\.exe$/i, '');
}

/** `--replicas=0`, `--replicas 0`: a flag whose value is zero. */
export function desiredZero(args: readonly string[], flag: string): boolean {
  return args.some((a, i) => a === `${flag}=0` || (a === flag && args[i + 1] === '0'));
}

/** The letters of the short flags before `--` (`-rf` gives r and f). */
export function shortFlags(args: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    if (/^-[A-Za-z0-9]+$/.test(a)) for (const ch of a.slice(1)) set.add(ch);
  }
  return set;
}

/** One of the long options is given, bare or as `--name=value`. */
export function hasLong(args: readonly string[], ...names: string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

/** The arguments that are not options (all of them after `--`; a lone `-` is one). */
export function operands(args: readonly string[]): string[] {
  const out: string[] = [];
  let afterDashes = false;
  for (const a of args) {
    if (!afterDashes && a === '--') afterDashes = true;
    else if (afterDashes || !a.startsWith('-') || a === '-') out.push(a);
  }
  return out;
}

/** The words a finding quotes, cut to 160 characters. */
export function evidenceOf(words: readonly string[]): string {
  const text = words.join(' ');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
