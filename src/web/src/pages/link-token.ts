/**
 * Tokens from mail links arrive in the URL fragment (`/invite#token`): the fragment never reaches a
 * server log or a Referer. Read once, then removed from the address bar (kept here for re-renders).
 */
const taken = new Map<string, string>();

export function takeFragmentToken(): string {
  const path = window.location.pathname;
  const fromHash = decodeURIComponent(window.location.hash.replace(/^#/, ''));
  if (fromHash !== '') {
    taken.set(path, fromHash);
    window.history.replaceState(null, '', path + window.location.search);
  }
  return taken.get(path) ?? '';
}
