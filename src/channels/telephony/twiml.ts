/**
 * What Twilio, SignalWire (LaML) and Telnyx (TeXML) share: the same markup verbs and the same
 * webhook form fields (CallSid, Digits, SpeechResult, AnsweredBy, CallStatus, CallDuration). Each
 * provider keeps only what differs: how `<Say>` is slowed down and which speech attributes it takes.
 */
import type { CallScript } from '../../core/telephony/script.js';
import { xmlEscape } from '../../core/telephony/script.js';
import type { AnsweredBy, CallStatus, InboundRequest } from './provider.js';

/** Pure: a neutral script as TwiML-style markup. */
export function renderTwimlStyle(
  script: CallScript,
  dialect: {
    /** One spoken text as a `<Say>` element (voice and rate are the dialect's). */
    readonly say: (text: string) => string;
    /** Extra `<Gather>` attributes when it listens for speech (with a leading space). */
    readonly speechAttributes: string;
  },
): string {
  const parts = script.say.map(dialect.say);
  const g = script.gather;
  if (g !== undefined) {
    const input = g.speech ? 'dtmf speech' : 'dtmf';
    const speechAttrs = g.speech ? dialect.speechAttributes : '';
    parts.push(
      `<Gather action="${xmlEscape(g.action)}" method="POST" input="${input}" numDigits="${g.digits}" ` +
        `timeout="${g.timeoutS}" finishOnKey="${xmlEscape(g.finishOnKey)}"${speechAttrs}>` +
        `${g.prompt.map(dialect.say).join('')}</Gather>`,
    );
  }
  parts.push(
    script.then.kind === 'hangup'
      ? '<Hangup/>'
      : `<Redirect method="POST">${xmlEscape(script.then.url)}</Redirect>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${parts.join('')}</Response>`;
}

/** `CallStatus` values as Twilio (and TeXML) send them. */
export const TWIML_CALL_STATUSES: Readonly<Record<string, CallStatus>> = {
  queued: 'queued',
  initiated: 'queued',
  ringing: 'ringing',
  'in-progress': 'in_progress',
  answered: 'in_progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no_answer',
  failed: 'failed',
  canceled: 'canceled',
};

/** `AnsweredBy`: human; machine, machine_start, machine_end_beep/silence/other, fax; else unknown. */
export function answeredByOf(value: string | undefined): AnsweredBy | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'human') return 'human';
  if (value.startsWith('machine') || value === 'fax') return 'machine';
  return 'unknown';
}

/**
 * The fields of a form webhook (a POST's form body, or a GET's query); undefined when a POST is not
 * form-encoded. A repeated field keeps its last value.
 */
export function formFields(req: InboundRequest): Record<string, string> | undefined {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (req.method === 'POST' && !type.startsWith('application/x-www-form-urlencoded')) return undefined;
  const source = req.method === 'GET' ? new URL(req.url).searchParams : new URLSearchParams(req.rawBody);
  const fields: Record<string, string> = {};
  for (const [k, v] of source) fields[k] = v;
  return fields;
}
