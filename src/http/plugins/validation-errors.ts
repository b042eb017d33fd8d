/**
 * Ajv's errors, said once each the way a person reads them. Ajv reports a union of literals
 * (`lit()`: an enum) as one "must be equal to constant" per member plus "must match a schema in
 * anyOf"; here that is one "must be one of: a, b, c". An unknown field is named
 * (`body/bogus is not a known field`), and the same message at the same path is said once.
 */

/** The part of an Ajv error object these messages use (Fastify's FastifySchemaValidationError). */
export interface AjvIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string | undefined;
}

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** What one anyOf branch asked for, when it asked only for a value or a type. */
function alternative(issue: AjvIssue): string | undefined {
  if (issue.keyword === 'const') return JSON.stringify(issue.params.allowedValue);
  if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
    return issue.params.allowedValues.map((v) => JSON.stringify(v)).join(', ');
  }
  if (issue.keyword === 'type') return String(issue.params.type);
  return undefined;
}

export function validationMessages(issues: readonly AjvIssue[], context: string): FieldError[] {
  const out: FieldError[] = [];
  let pending: AjvIssue[] = []; // branch errors that an anyOf error may sum up
  const flush = () => {
    for (const issue of pending) out.push(plain(issue));
    pending = [];
  };
  const plain = (issue: AjvIssue): FieldError => {
    const base = `${context}${issue.instancePath}`;
    if (issue.keyword === 'additionalProperties' && typeof issue.params.additionalProperty === 'string') {
      return { path: `${base}/${issue.params.additionalProperty}`, message: 'is not a known field' };
    }
    if (issue.keyword === 'enum' && Array.isArray(issue.params.allowedValues)) {
      return { path: base, message: `must be one of: ${alternative(issue)}` };
    }
    return { path: base, message: issue.message ?? 'invalid' };
  };
  for (const issue of issues) {
    if (issue.keyword === 'anyOf') {
      const mine = pending.filter((p) => p.instancePath === issue.instancePath);
      const alts = mine.map(alternative);
      if (mine.length > 0 && mine.length === pending.length && alts.every((a) => a !== undefined)) {
        const literals = mine.every((m) => m.keyword === 'const' || m.keyword === 'enum');
        out.push({
          path: `${context}${issue.instancePath}`,
          message: literals ? `must be one of: ${alts.join(', ')}` : `must be ${alts.join(' or ')}`,
        });
        pending = [];
        continue;
      }
      flush();
      out.push(plain(issue));
      continue;
    }
    pending.push(issue);
  }
  flush();
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.path}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The problem's one-line detail: each field error once, in order (as Fastify words it). */
export function validationDetail(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path} ${e.message}`).join(', ');
}
