import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../channel.js';
import { createEmailChannel } from './adapter.js';
import {
  classifyMailError,
  MailSendError,
  smtpOptionsOf,
  type MailTransport,
  type OutgoingMail,
} from './transport.js';

/** A transport that records what it was asked to send and fails for the listed addresses. */
function recordingTransport(failFor: readonly string[] = []) {
  const sent: OutgoingMail[] = [];
  const transport: MailTransport = {
    async send(mail) {
      if (failFor.includes(mail.to)) throw new MailSendError('connection', undefined);
      sent.push(mail);
      return { messageId: `<${sent.length}@relay.test>` };
    },
    async verify() {},
    close() {},
  };
  return { transport, sent };
}

const message: OutboundMessage & { payload: string; command: string; summary: string; target: string } = {
  handoffId: 'HANDOFF-ID-MARKER',
  options: [
    { id: 'OPTION-ID-MARKER', label: 'OPTION-LABEL-MARKER' },
    { id: 'deny', label: 'Deny' },
  ],
  shortCode: 'ABC234',
  actionType: 'deploy',
  riskLevel: 'high',
  title: 'TITLE-MARKER',
  gist: { speech: 'SPEECH-MARKER', sms: 'SMS-MARKER', chat: 'CHAT-MARKER' },
  link: 'https://ony.test/v1/handoffs/page',
  // Fields a careless caller might pass along: the adapter must not send them.
  payload: 'PAYLOAD-MARKER',
  command: 'COMMAND-MARKER',
  summary: 'SUMMARY-MARKER',
  target: 'TARGET-MARKER',
};

describe('email channel', () => {
  it('transmits only the fields it declares, one mail per person with an address', async () => {
    const { transport, sent } = recordingTransport();
    const channel = createEmailChannel(transport);
    const result = await channel.send(message, [
      { memberId: 'm1', name: 'Alice', address: 'alice@x.test' },
      { memberId: 'm2', name: 'Bob', address: null },
      { memberId: 'm3', name: 'Carol', address: 'carol@x.test' },
    ]);
    expect(sent.map((m) => m.to)).toEqual(['alice@x.test', 'carol@x.test']);
    expect(result.messages).toEqual([
      { memberId: 'm1', ref: '<1@relay.test>' },
      { memberId: 'm3', ref: '<2@relay.test>' },
    ]);
    const all = sent.map((m) => `${m.subject}\n${m.text}\n${m.html}`).join('\n');
    for (const present of ['ABC234', 'deploy', 'high', 'TITLE-MARKER', 'CHAT-MARKER', message.link])
      expect(all).toContain(present);
    for (const absent of [
      'HANDOFF-ID-MARKER', // only inside the link the service builds, never on its own
      'OPTION-ID-MARKER',
      'OPTION-LABEL-MARKER',
      'SPEECH-MARKER',
      'SMS-MARKER',
      'PAYLOAD-MARKER',
      'COMMAND-MARKER',
      'SUMMARY-MARKER',
      'TARGET-MARKER',
      'Alice',
      'carol@x.test\nalice', // no shared recipient list
    ])
      expect(all).not.toContain(absent);
    expect(channel.transmits).toEqual(['shortCode', 'actionType', 'riskLevel', 'title', 'gist', 'link']);
  });

  it('a step that reached nobody fails; one that reached someone answers what was sent', async () => {
    const down = createEmailChannel(recordingTransport(['alice@x.test', 'carol@x.test']).transport);
    await expect(
      down.send(message, [
        { memberId: 'm1', name: 'Alice', address: 'alice@x.test' },
        { memberId: 'm3', name: 'Carol', address: 'carol@x.test' },
      ]),
    ).rejects.toBeInstanceOf(MailSendError);
    const half = createEmailChannel(recordingTransport(['alice@x.test']).transport);
    const r = await half.send(message, [
      { memberId: 'm1', name: 'Alice', address: 'alice@x.test' },
      { memberId: 'm3', name: 'Carol', address: 'carol@x.test' },
    ]);
    expect(r.messages.map((m) => m.memberId)).toEqual(['m3']);
    expect(await half.send(message, [{ memberId: 'm2', name: 'Bob', address: null }])).toEqual({
      messages: [],
    });
  });

  it('classifies SMTP failures (RFC 5321: 4yz temporary, 5yz permanent except 503) and reads the URL', () => {
    expect(classifyMailError({ code: 'ESOCKET' })).toBe('connection');
    expect(classifyMailError({ code: 'ETIMEDOUT' })).toBe('timeout');
    expect(classifyMailError({ code: 'EAUTH', responseCode: 535 })).toBe('auth');
    expect(classifyMailError({ code: 'ETLS' })).toBe('tls');
    expect(classifyMailError({ code: 'EENVELOPE', responseCode: 450 })).toBe('rejected_temporary');
    expect(classifyMailError({ code: 'EENVELOPE', responseCode: 550 })).toBe('rejected_permanent');
    expect(classifyMailError({ code: 'EPROTOCOL', responseCode: 503 })).toBe('rejected_temporary');
    expect(classifyMailError(new Error('?'))).toBe('other');
    expect(new MailSendError('rejected_permanent', 550).permanent).toBe(true);
    expect(new MailSendError('rejected_temporary', 451).permanent).toBe(false);
    expect(smtpOptionsOf('smtps://u%40x:p%2Fw@relay.example')).toMatchObject({
      host: 'relay.example',
      port: 465,
      secure: true,
      auth: { user: 'u@x', pass: 'p/w' },
    });
    expect(smtpOptionsOf('smtp://[::1]')).toMatchObject({ host: '::1', port: 587, secure: false });
    expect(smtpOptionsOf('smtp://relay:2525')).not.toHaveProperty('auth');
  });
});
