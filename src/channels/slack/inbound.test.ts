import { describe, expect, it } from 'vitest';
import { parseInteraction, payloadFromForm } from './inbound.js';

const ID = '0b6f7c1e-8a43-4f0e-9d2a-3c5b1e7f9a10';
const click = (over: Record<string, unknown> = {}) => ({
  type: 'block_actions',
  user: { id: 'U1ALICE', username: 'alice', team_id: 'T1TEAM' },
  team: { id: 'T1TEAM', domain: 'acme' },
  trigger_id: '1.2.abc',
  container: { type: 'message', channel_id: 'C1APPROVE', message_ts: '1.2' },
  actions: [{ action_id: 'ony_vote_0', value: JSON.stringify({ h: ID, o: 'approve' }), type: 'button' }],
  ...over,
});

describe('parseInteraction', () => {
  it('reads a click: the person as <team>:<user>, the handoff and option from the button value', () => {
    expect(parseInteraction(click())).toMatchObject({
      kind: 'vote',
      person: { identity: 'T1TEAM:U1ALICE', label: 'alice' },
      handoffId: ID,
      option: 'approve',
      channelId: 'C1APPROVE',
    });
    // Without user.team_id, the payload's team names the workspace.
    expect(parseInteraction(click({ user: { id: 'U1ALICE' } }))).toMatchObject({
      person: { identity: 'T1TEAM:U1ALICE', label: 'U1ALICE' },
    });
  });

  it('ignores what is not ours: the link button, other actions, other views, other types', () => {
    expect(parseInteraction(click({ actions: [{ action_id: 'ony_open', type: 'button' }] }))).toMatchObject({
      kind: 'ignored',
    });
    expect(parseInteraction(click({ actions: [{ action_id: 'other_app', value: 'x' }] }))).toMatchObject({
      kind: 'ignored',
    });
    expect(
      parseInteraction({
        type: 'view_submission',
        user: { id: 'U1', team_id: 'T1' },
        view: { callback_id: 'x' },
      }),
    ).toMatchObject({ kind: 'ignored' });
    expect(parseInteraction({ type: 'shortcut' })).toMatchObject({ kind: 'ignored' });
  });

  it('refuses malformed payloads', () => {
    const bad: unknown[] = [
      null,
      'text',
      [],
      {},
      click({ user: undefined }),
      click({ user: { id: 'u-lower', team_id: 'T1' } }),
      click({ team: undefined, user: { id: 'U1' } }),
      click({ actions: [] }),
      click({ actions: 'x' }),
      click({ trigger_id: undefined }),
      click({ actions: [{ action_id: 'ony_vote_0', value: 'not json' }] }),
      click({ actions: [{ action_id: 'ony_vote_0', value: JSON.stringify({ h: 'x', o: 'approve' }) }] }),
      click({ actions: [{ action_id: 'ony_vote_0', value: JSON.stringify({ h: ID, o: 'DROP TABLE' }) }] }),
      click({ actions: [{ action_id: 'ony_vote_0', value: JSON.stringify([ID, 'approve']) }] }),
      { type: 'view_submission', user: { id: 'U1', team_id: 'T1' }, view: { callback_id: 'ony_totp' } },
      {
        type: 'view_submission',
        user: { id: 'U1', team_id: 'T1' },
        view: { callback_id: 'ony_totp', private_metadata: '{"h":"nope","o":"approve"}' },
      },
    ];
    for (const b of bad) expect(parseInteraction(b), JSON.stringify(b)).toBeUndefined();
  });

  it('a modal submission without the field reads as an empty code (answered in the modal)', () => {
    const p = parseInteraction({
      type: 'view_submission',
      user: { id: 'U1', team_id: 'T1' },
      view: { callback_id: 'ony_totp', private_metadata: JSON.stringify({ h: ID, o: 'approve', c: null }) },
    });
    expect(p).toMatchObject({ kind: 'totp', code: '', channelId: null });
  });
});

describe('payloadFromForm', () => {
  it('reads payload= and nothing else', () => {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions' }) }).toString();
    expect(payloadFromForm(body)).toEqual({ type: 'block_actions' });
    expect(payloadFromForm('payload=%7Bnot')).toBeUndefined();
    expect(payloadFromForm('other=1')).toBeUndefined();
  });
});
