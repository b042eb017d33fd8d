/**
 * Decoders the walker applies to static payloads: printf-style escapes and base64 (standard or
 * URL-safe, padding optional).
 */

/** Decodes printf-style escapes (`\x72`, `\162`, `\n`). */
export function decodeEscapes(text: string): string {
  return text.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|[ntr\\])/g, (_, esc: string) => {
    if (esc[0] === 'x') return String.fromCharCode(parseInt(esc.slice(1), 16));
    if (/^[0-7]/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
    return ({ n: '\n', t: '\t', r: '\r', '\\': '\\' } as Record<string, string>)[esc] ?? esc;
  });
}

/** Decodes base64, standard or URL-safe; undefined when the text is not base64. */
export function decodeBase64(text: string): string | undefined {
  const clean = text.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]+$/.test(clean) || clean.length % 4 === 1) return undefined;
  try {
    return atob(clean.padEnd(Math.ceil(clean.length / 4) * 4, '='));
  } catch {
    return undefined;
  }
}
