import { describe, expect, it } from 'vitest';
import { encodeDecision } from './callback-data.js';
import { parseUpdate } from './updates.js';

const alice = { id: 1001, is_bot: false, first_name: 'Alice', username: 'alice' };
const HANDOFF = '0b5a3c1e-8d2f-4c7a-9e61-3f2b1a0c9d8e';

describe('parseUpdate', () => {
  it('reads a button tap as a decision by the tapping user', () => {
    const e = parseUpdate({
      update_id: 7,
      callback_query: {
        id: 'q1',
        from: alice,
        data: encodeDecision(HANDOFF, 'approve'),
        message: { message_id: 42, chat: { id: 1001, type: 'private' }, date: 1 },
      },
    });
    expect(e).toEqual({
      kind: 'decision',
      updateId: 7,
      callbackQueryId: 'q1',
      fromId: '1001',
      chatId: '1001',
      messageId: 42,
      handoffId: HANDOFF,
      option: 'approve',
    });
  });

  it('tells a foreign button apart, and ignores taps without a person', () => {
    expect(parseUpdate({ update_id: 1, callback_query: { id: 'q', from: alice, data: 'hello' } })).toEqual({
      kind: 'unknown_button',
      updateId: 1,
      callbackQueryId: 'q',
    });
    const data = encodeDecision(HANDOFF, 'deny');
    expect(parseUpdate({ update_id: 2, callback_query: { id: 'q', data } })?.kind).toBe('ignored');
    expect(
      parseUpdate({ update_id: 3, callback_query: { id: 'q', data, from: { ...alice, is_bot: true } } })
        ?.kind,
    ).toBe('ignored');
    expect(parseUpdate({ update_id: 4, callback_query: { id: '', data, from: alice } })?.kind).toBe(
      'ignored',
    );
  });

  it('reads /start with and without a code, and where it was sent', () => {
    const msg = (text: string, chat = { id: 1001, type: 'private' }) =>
      parseUpdate({ update_id: 9, message: { message_id: 3, from: alice, chat, date: 1, text } });
    expect(msg('/start ABCD2345')).toMatchObject({
      kind: 'start',
      code: 'ABCD2345',
      label: '@alice',
      fromId: '1001',
    });
    expect(msg('/start@ony_bot ABCD2345')).toMatchObject({ kind: 'start', code: 'ABCD2345' });
    expect(msg('/start')).toMatchObject({ kind: 'start', code: null });
    expect(msg('/start ABCD2345', { id: -100123, type: 'supergroup' })).toMatchObject({
      kind: 'start',
      chatType: 'supergroup',
      chatId: '-100123',
    });
    expect(msg('123456')).toMatchObject({ kind: 'text', text: '123456', messageId: 3 });
    expect(msg('/starting')).toMatchObject({ kind: 'text' });
  });

  it('labels a person without a username by first name', () => {
    const e = parseUpdate({
      update_id: 1,
      message: {
        message_id: 1,
        from: { id: 5, is_bot: false, first_name: 'Bob' },
        chat: { id: 5, type: 'private' },
        text: '/start X',
      },
    });
    expect(e).toMatchObject({ kind: 'start', label: 'Bob' });
  });

  it('answers undefined for what is not an update, ignored for what it does not handle', () => {
    for (const bad of [null, 'x', 42, [], {}, { update_id: '7' }, { update_id: 1.5 }]) {
      expect(parseUpdate(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(parseUpdate({ update_id: 1, edited_message: {} })?.kind).toBe('ignored');
    expect(
      parseUpdate({ update_id: 1, message: { message_id: 1, from: alice, chat: { id: 1, type: 'private' } } })
        ?.kind,
    ).toBe('ignored');
    expect(
      parseUpdate({
        update_id: 1,
        message: { message_id: 1, from: alice, chat: { id: 1, type: 'weird' }, text: 'x' },
      })?.kind,
    ).toBe('ignored');
  });
});
