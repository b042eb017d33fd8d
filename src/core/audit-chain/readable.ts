/**
 * The audit chain made readable: names for actor and subject ids, and the CSV of a filtered view.
 * Names are display data looked up when the chain is read; they are never part of the hashed entry.
 * Pure: no I/O.
 */

/** An erased member's row keeps only its id: this is how it reads everywhere (team, audit, CSV). */
export const erasedPseudonym = (memberId: string): string => `Erased member ${memberId.slice(0, 8)}`;

export interface ReadableNames {
  readonly members: ReadonlyMap<string, { readonly name: string; readonly erased: boolean }>;
  readonly devices: ReadonlyMap<string, string>;
  readonly handoffs: ReadonlyMap<string, { readonly shortCode: string; readonly title: string }>;
}

export interface NamedRef {
  /** A person's or device's name, or a handoff's title; null when the row is gone or has no name. */
  readonly name: string | null;
  /** A handoff's short code. */
  readonly shortCode: string | null;
}

const NONE: NamedRef = { name: null, shortCode: null };

/** What an actor or subject id names, given the looked-up names of its page. */
export function nameOf(names: ReadableNames, type: string, id: string | null): NamedRef {
  if (id === null) return NONE;
  if (type === 'member') {
    const m = names.members.get(id);
    return m === undefined ? NONE : { name: m.erased ? erasedPseudonym(id) : m.name, shortCode: null };
  }
  if (type === 'device') {
    const d = names.devices.get(id);
    return d === undefined ? NONE : { name: d, shortCode: null };
  }
  if (type === 'handoff') {
    const h = names.handoffs.get(id);
    return h === undefined ? NONE : { name: h.title, shortCode: h.shortCode };
  }
  return NONE;
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break. A cell that a
 * spreadsheet would read as a formula (starting with = + - @, a tab or a carriage return) gets a
 * leading apostrophe first, so opening the export never runs anything (OWASP "CSV injection").
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (cells: readonly (string | number | null)[]): string =>
  `${cells.map(csvCell).join(',')}\r\n`;

export const AUDIT_CSV_HEADER = [
  'seq',
  'at',
  'actor_type',
  'actor_id',
  'actor',
  'action',
  'subject_type',
  'subject_id',
  'subject_short_code',
  'subject',
  'details',
  'hash',
] as const;

export interface ReadableRow {
  readonly seq: number;
  readonly at: Date;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId: string | null;
  readonly meta: unknown;
  readonly hash: string;
}

/** One entry as a CSV line, in AUDIT_CSV_HEADER's order. */
export function auditCsvLine(row: ReadableRow, names: ReadableNames): string {
  const actor = nameOf(names, row.actorType, row.actorId);
  const subject = nameOf(names, row.subjectType, row.subjectId);
  return csvLine([
    row.seq,
    row.at.toISOString(),
    row.actorType,
    row.actorId,
    actor.name,
    row.action,
    row.subjectType,
    row.subjectId,
    subject.shortCode,
    subject.name,
    JSON.stringify(row.meta ?? {}),
    row.hash,
  ]);
}
