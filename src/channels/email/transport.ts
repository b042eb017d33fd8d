/**
 * The SMTP transport (nodemailer): the one place mail leaves the server. Built from ONY_SMTP_URL;
 * never logs the URL (it carries the password). Failures are classified into a closed set so the
 * delivery record and the logs say what went wrong without the server's own text (which may echo
 * the address).
 */
import nodemailer from 'nodemailer';
import type { MailConfig } from '../../config/index.js';

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailTransport {
  /** Hands one message to the relay; answers its Message-ID. Throws a classified MailSendError. */
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  /** Connects and authenticates without sending (health). */
  verify(): Promise<void>;
  close(): void;
}

export const MAIL_ERROR_CLASSES = [
  'connection',
  'timeout',
  'tls',
  'auth',
  'rejected_temporary',
  'rejected_permanent',
  'other',
] as const;
export type MailErrorClass = (typeof MAIL_ERROR_CLASSES)[number];

export class MailSendError extends Error {
  constructor(
    readonly errorClass: MailErrorClass,
    /** The SMTP reply code, when the server answered. */
    readonly responseCode: number | undefined,
  ) {
    super(`mail not sent: ${errorClass}${responseCode !== undefined ? ` (SMTP ${responseCode})` : ''}`);
    this.name = 'MailSendError';
  }

  /** A permanent rejection: sending the same message again would be refused again. */
  get permanent(): boolean {
    return this.errorClass === 'rejected_permanent';
  }
}

/** Maps a nodemailer error to a class (RFC 5321: 4yz transient, 5yz permanent except 503). */
export function classifyMailError(err: unknown): MailErrorClass {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    responseCode?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code === 'EAUTH' || code === 'ENOAUTH') return 'auth';
  if (code === 'ETLS' || code === 'EREQUIRETLS') return 'tls';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (reply !== undefined && reply >= 500 && reply !== 503) return 'rejected_permanent';
  if (reply !== undefined && reply >= 400) return 'rejected_temporary';
  if (['ECONNECTION', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROXY'].includes(code))
    return 'connection';
  return 'other';
}

/** nodemailer options from the URL: host, port, TLS mode and credentials, with short timeouts. */
export function smtpOptionsOf(smtpUrl: string) {
  const u = new URL(smtpUrl);
  const secure = u.protocol === 'smtps:';
  const user = decodeURIComponent(u.username);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port !== '' ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(user !== '' && { auth: { user, pass: decodeURIComponent(u.password) } }),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // Mails are built from our own strings: never let a value make nodemailer read a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  };
}

export function createSmtpTransport(config: Pick<MailConfig, 'smtpUrl' | 'from'>): MailTransport {
  // One connection per message (no pool): mail is rare here, and a relay restart leaves no dead
  // pooled connection behind.
  const transporter = nodemailer.createTransport(smtpOptionsOf(config.smtpUrl));
  return {
    async send(mail) {
      try {
        const info = await transporter.sendMail({
          from: config.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: { 'Auto-Submitted': 'auto-generated' },
        });
        return { messageId: info.messageId };
      } catch (err) {
        const e = err as { responseCode?: unknown };
        throw new MailSendError(
          classifyMailError(err),
          typeof e.responseCode === 'number' ? e.responseCode : undefined,
        );
      }
    },
    async verify() {
      try {
        await transporter.verify();
      } catch (err) {
        throw new MailSendError(classifyMailError(err), undefined);
      }
    },
    close() {
      transporter.close();
    },
  };
}
