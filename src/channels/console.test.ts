import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import type { OutboundMessage } from './channel.js';
import { createConsoleChannel } from './console.js';

describe('console channel', () => {
  it('transmits only the fields it declares; nothing of the payload leaves', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString());
        cb();
      },
    });
    const channel = createConsoleChannel(createLogger('info', sink));
    const message: OutboundMessage & { payload: string; command: string } = {
      handoffId: '00000000-0000-4000-8000-000000000001',
      options: [{ id: 'approve', label: 'Approve' }],
      shortCode: 'ABC234',
      actionType: 'shell.exec',
      riskLevel: 'critical',
      title: 'clean up',
      summary: null,
      gist: { speech: 'speech text', sms: 'sms text', chat: 'chat text' },
      link: 'https://ony.test/v1/handoffs/x',
      // Fields a careless caller might pass along: the adapter must not send them.
      payload: 'PAYLOAD-MARKER rm -rf /',
      command: 'COMMAND-MARKER',
    };
    await channel.send(message, [{ memberId: 'm1', name: 'Alice', address: null }]);
    const out = lines.join('');
    expect(out).not.toContain('PAYLOAD-MARKER');
    expect(out).not.toContain('COMMAND-MARKER');
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    const sent = new Set(Object.keys(record));
    for (const k of ['level', 'time', 'pid', 'hostname', 'msg', 'channel', 'recipients']) sent.delete(k);
    // Every remaining logged key maps to a declared transmitted field.
    const declared: Record<string, string> = {
      short_code: 'shortCode',
      action_type: 'actionType',
      risk: 'riskLevel',
      title: 'title',
      gist: 'gist',
      link: 'link',
    };
    for (const k of sent) expect(channel.transmits, k).toContain(declared[k]);
  });
});
