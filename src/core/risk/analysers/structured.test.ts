import { describe, expect, it } from 'vitest';
import { Findings } from '../findings.js';
import type { RiskInput } from '../types.js';
import { analyseStructured, currencyExponent } from './structured.js';

const policy = { payment_threshold: 1_000, payment_critical_multiplier: 10, bulk_email_threshold: 50 };

function read(input: Partial<RiskInput> & { content?: string }): {
  reasons: string[];
  commands: string[];
  sql: string[];
} {
  const out = new Findings();
  const commands: string[] = [];
  const sql: string[] = [];
  const { content, ...rest } = input;
  analyseStructured(
    {
      action: { type: 'other' },
      title: 't',
      summary: '',
      ...rest,
      ...(content !== undefined ? { payload: { kind: 'text', content } } : {}),
    },
    policy,
    out,
    { shell: (s) => void commands.push(s), sql: (s) => void sql.push(s) },
  );
  return { reasons: out.reasons(), commands, sql };
}

describe('structured reading', () => {
  it('reads Stripe minor units with each currency exponent, {value, currency} and decimal strings as major units', () => {
    expect(currencyExponent('jpy')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('usd')).toBe(2);
    expect(read({ content: '{"amount": 99900, "currency": "usd"}' }).reasons).toEqual(['payment']);
    expect(read({ content: '{"amount": 150000, "currency": "usd"}' }).reasons).toEqual([
      'payment_over_threshold',
    ]);
    expect(read({ content: '{"amount": 1000000, "currency": "usd"}' }).reasons).toEqual(['payment_critical']);
    expect(read({ content: '{"amount": 5000, "currency": "jpy"}' }).reasons).toEqual([
      'payment_over_threshold',
    ]);
    expect(read({ content: '{"amount_total": 250000, "currency": "eur"}' }).reasons).toEqual([
      'payment_over_threshold',
    ]);
    expect(read({ content: '{"amount": {"value": "2500.00", "currency_code": "USD"}}' }).reasons).toEqual([
      'payment_over_threshold',
    ]);
    expect(read({ content: '{"amount": "12500.00", "currency": "USD"}' }).reasons).toEqual([
      'payment_critical',
    ]);
  });

  it('uses the larger of the stated and the read amount, and says they disagree', () => {
    const r = read({
      action: { type: 'payment', amount: 150 },
      content: '{"amount": 1500000, "currency": "eur"}',
    });
    expect(r.reasons).toContain('amount_mismatch');
    expect(r.reasons).toContain('payment_critical');
    expect(
      read({ action: { type: 'payment', amount: 15 }, content: '{"amount": 1500, "currency": "eur"}' })
        .reasons,
    ).toEqual(['payment']);
  });

  it('counts to/cc/bcc and reads list and segment sends as bulk', () => {
    const to = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@example.com`);
    expect(read({ content: JSON.stringify({ to: to(20), cc: to(10), bcc: to(20) }) }).reasons).toEqual([
      'email_send',
    ]);
    expect(read({ content: JSON.stringify({ to: to(20), cc: to(10), bcc: to(21) }) }).reasons).toEqual([
      'bulk_email',
    ]);
    expect(read({ action: { type: 'email.send' }, content: '{"segment_id": "seg_1"}' }).reasons).toEqual([
      'bulk_email',
    ]);
    expect(read({ action: { type: 'email.send', target: 'all customers' } }).reasons).toEqual(['bulk_email']);
    expect(read({ action: { type: 'email.send' } }).reasons).toEqual(['email_send']);
  });

  it('grades grants: admin whatever the action, read-only and others only for grants or policy documents', () => {
    expect(
      read({ content: '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }).reasons,
    ).toEqual(['iam_admin_grant']);
    expect(
      read({
        content:
          '{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}',
      }).reasons,
    ).toEqual(['iam_readonly']);
    expect(
      read({
        content: '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}',
      }).reasons,
    ).toEqual(['iam_change']);
    expect(
      read({ content: '{"bindings":[{"role":"roles/owner","members":["user:a@b.c"]}]}' }).reasons,
    ).toEqual(['iam_admin_grant']);
    // A log line's role field is not a grant.
    expect(read({ content: '{"msg":"role updated","role":"admin"}' }).reasons).toEqual([]);
    expect(read({ action: { type: 'iam.change' }, content: '{"role":"admin"}' }).reasons).toEqual([
      'iam_admin_grant',
    ]);
  });

  it('hands commands and SQL held in JSON to the shell and SQL readings', () => {
    const r = read({ content: '{"command":"rm -rf /","args":["bash","-c","ls"],"query":"DROP TABLE t"}' });
    expect(r.commands).toContain('rm -rf /');
    expect(r.commands).toContain(`'bash' '-c' 'ls'`);
    expect(r.sql).toEqual(['DROP TABLE t']);
  });

  it('ignores what is not JSON', () => {
    expect(read({ content: 'amount: 1000000 usd' }).reasons).toEqual([]);
    expect(read({ content: '{not json' }).reasons).toEqual([]);
  });
});
