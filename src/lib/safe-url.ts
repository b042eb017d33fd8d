/**
 * A connection URL (DATABASE_URL, REDIS_URL) as an operator may see it in a message: scheme, user,
 * host, port and path. Never the password, nor the query string (Postgres URLs may carry
 * `?password=` or `sslpassword=` there).
 */
export function safeUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(an unparseable URL)';
  }
  const user = u.username !== '' ? `${u.username}@` : '';
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.protocol}//${user}${u.host}${path}`;
}

/**
 * One line for an error from a connection attempt. Node reports a refused connection to a name with
 * several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError whose own message is empty.
 */
export function connectErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = (err as { errors?: unknown }).errors;
  if (err.message === '' && Array.isArray(inner) && inner.length > 0)
    return [...new Set(inner.map(connectErrorMessage))].join('; ');
  if (err.message !== '') return err.message;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err.name;
}
