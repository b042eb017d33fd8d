/**
 * A real SMTP peer for tests: smtp-server in-process on 127.0.0.1 (a random port, or a given one to
 * come back on after a stop), with AUTH PLAIN/LOGIN checked against one user, and every received
 * message parsed with mailparser (envelope recipients kept beside it).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './jobs.js';

export interface ReceivedMail {
  /** RCPT TO addresses of the SMTP envelope. */
  readonly rcptTo: readonly string[];
  readonly mailFrom: string;
  readonly parsed: ParsedMail;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The raw message as received (headers and bodies). */
  readonly raw: string;
}

export interface SmtpPeer {
  readonly port: number;
  /** ONY_SMTP_URL for this peer. */
  readonly url: string;
  readonly received: ReceivedMail[];
  /** Recipients answered `550 mailbox unavailable` at RCPT TO (a permanent refusal). */
  readonly refuse: Set<string>;
  /** Messages to one address. */
  to(address: string): ReceivedMail[];
  /** Waits until `n` messages (in all) have arrived. */
  waitForCount(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Listens again on the same port (after stop). */
  restart(): Promise<void>;
}

export const SMTP_USER = 'ony-relay';
export const SMTP_PASS = 'relay-secret-pass-77';

export async function startSmtpPeer(): Promise<SmtpPeer> {
  const received: ReceivedMail[] = [];
  const refuse = new Set<string>();
  let server: SMTPServer | undefined;
  let port = 0;

  function make(): SMTPServer {
    return new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASS) cb(null, { user: auth.username });
        else cb(new Error('invalid credentials'));
      },
      onRcptTo(address, _session, cb) {
        if (refuse.has(address.address))
          cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        else cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              received.push({
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
                mailFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
                parsed,
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                raw: raw.toString('utf8'),
              });
              cb();
            },
            (err: Error) => cb(err),
          );
        });
      },
    });
  }

  async function listen(): Promise<void> {
    server = make();
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.server.address() as AddressInfo).port;
  }

  await listen();
  return {
    get port() {
      return port;
    },
    get url() {
      return `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${port}`;
    },
    received,
    refuse,
    to: (address) => received.filter((m) => m.rcptTo.includes(address)),
    waitForCount: (n, timeoutMs = 15_000) =>
      waitFor(() => received.length >= n, `${n} mails (have ${received.length})`, timeoutMs),
    async stop() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    restart: listen,
  };
}
