/**
 * A member's timezone (issue #22 §1): an IANA name the runtime knows ("Europe/Paris", "UTC").
 * Answers the canonical spelling (Intl resolves case and aliases), or null for anything else.
 */
const SHAPE = /^[A-Za-z0-9_+\-/]{1,64}$/;

export function canonicalTimeZone(name: string): string | null {
  if (!SHAPE.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
