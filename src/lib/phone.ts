/** Phone number masking (DESIGN.md §3.7): `+14155554567` -> `+1•••••••4567`. */

const E164 = /^\+[1-9]\d{6,14}$/;

export const isE164 = (value: string): boolean => E164.test(value);

export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  if (digits.length < 7) return '•••';
  // Keep the country calling code's first digit and the last four digits.
  const cc = digits.length > 10 ? digits.slice(0, digits.length - 10) : digits.slice(0, 1);
  const last = digits.slice(-4);
  return `+${cc}${'•'.repeat(Math.max(digits.length - cc.length - 4, 3))}${last}`;
}

/**
 * Phone-like runs inside free text: an optional +, then 7–15 digits that may be separated by single
 * spaces, dots, dashes or parentheses. Linear: every step consumes a digit.
 */
const PHONE_IN_TEXT = /\+?\(?\d(?:[ .\-()]?\d){6,14}/g;

/** Masks every phone-like number in a log string. UUIDs and hex ids are left alone (they contain letters). */
export function maskPhonesInText(text: string): string {
  return text.replace(PHONE_IN_TEXT, (match, offset: number, whole: string) => {
    const before = whole[offset - 1];
    const after = whole[offset + match.length];
    // Part of a longer token (hex id, uuid, version, timestamp): leave it.
    if ((before !== undefined && /[\w-]/.test(before)) || (after !== undefined && /[\w-]/.test(after)))
      return match;
    if (!match.startsWith('+')) return match;
    return maskPhone(match);
  });
}
