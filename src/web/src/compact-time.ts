/**
 * A timestamp on one short line: the time alone today, day and month this year, the full date
 * otherwise. The absolute time (with seconds) goes in a tooltip. Pure; `now` is an argument.
 */
const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function compactTime(at: Date, now: Date): string {
  if (Number.isNaN(at.getTime())) return '—';
  const hm = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay =
    at.getFullYear() === now.getFullYear() &&
    at.getMonth() === now.getMonth() &&
    at.getDate() === now.getDate();
  if (sameDay) return `${hm}:${pad(at.getSeconds())}`;
  const day = `${at.getDate()} ${MONTHS[at.getMonth()]}`;
  return at.getFullYear() === now.getFullYear() ? `${day} ${hm}` : `${day} ${at.getFullYear()}`;
}

/** The full local time for a tooltip: "2026-12-07 14:05:03 (UTC+01:00)". */
export function absoluteTime(at: Date): string {
  if (Number.isNaN(at.getTime())) return '—';
  const off = -at.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const zone = `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())} (${zone})`
  );
}
