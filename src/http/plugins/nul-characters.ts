/**
 * A NUL character (U+0000) cannot be stored in Postgres text or jsonb, and no human-readable field
 * needs one. Every route whose body (or query string) is schema-validated refuses a NUL in any string
 * of it, key or value, at any depth: a 400 `validation_failed` problem naming each field, in the
 * same `errors: [{path, message}]` shape as the schema's own errors, before the handler runs, so
 * nothing is stored or audited (instead of a 500 from the database).
 */
import type { FastifyInstance } from 'fastify';
import { showHidden } from '../../core/hidden-characters.js';
import { AppError } from '../../lib/errors.js';

const MESSAGE = 'must not contain a NUL character';
/** Enough to name what is wrong; a body full of NULs does not need a list of thousands. */
const MAX_REPORTED = 20;

/** JSON Pointer of each string (or key) holding U+0000, `/payload/content`, in document order. */
export function nulPaths(value: unknown, at = '', found: string[] = []): string[] {
  if (found.length >= MAX_REPORTED) return found;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(at);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => nulPaths(item, `${at}/${i}`, found));
  } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const [key, item] of Object.entries(value)) {
      // A key is named by its escape (⟨U+0000⟩): the path itself must not carry the NUL.
      const path = `${at}/${showHidden(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
      if (key.includes('\u0000') && found.length < MAX_REPORTED) found.push(path);
      nulPaths(item, path, found);
    }
  }
  return found;
}

/** `/payload/content` -> `payload.content`, `/options/0/label` -> `options[0].label`. */
function fieldName(pointer: string): string {
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const schema = request.routeOptions.schema;
    const errors: { path: string; message: string }[] = [];
    if (schema?.body !== undefined)
      for (const p of nulPaths(request.body)) errors.push({ path: `body${p}`, message: MESSAGE });
    if (schema?.querystring !== undefined)
      for (const p of nulPaths(request.query)) errors.push({ path: `querystring${p}`, message: MESSAGE });
    if (errors.length === 0) return;
    const names = errors.map((e) => {
      const [context, ...rest] = e.path.split('/');
      return rest.length === 0 ? (context ?? 'body') : fieldName(`/${rest.join('/')}`);
    });
    const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
    throw new AppError('validation_failed', `${list} ${MESSAGE}`, { errors });
  });
}
