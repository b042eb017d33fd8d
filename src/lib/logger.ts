/**
 * pino JSON logger with a redaction list for credentials and a phone-masking pass over every
 * logged value (DESIGN.md §3.7). Handoff payloads never reach a log call in the first place.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { maskPhonesInText } from './phone.js';

export type { Logger };

/** Paths whose values are replaced by "[redacted]" wherever they appear. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.token',
  '*.totp_code',
  '*.code',
  '*.recovery_code',
  '*.secret',
  '*.setup_token',
  '*.bot_token',
  '*.botToken',
  '*.access_token',
  '*.client_secret',
  '*.clientSecret',
  '*.authorization',
  '*.cookie',
  'password',
  'token',
  'secret',
  'totp_code',
];

/**
 * Masks phone numbers in strings inside plain objects and arrays. Other objects (errors, streams,
 * sockets) are left to pino's serializers: walking them copied whole sockets on every log line.
 */
function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhonesInText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        log: (obj) => maskDeep(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // Mask phone numbers in the message string too (the object was masked by formatters.log).
          const masked = args.map((a) => (typeof a === 'string' ? maskPhonesInText(a) : a));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
