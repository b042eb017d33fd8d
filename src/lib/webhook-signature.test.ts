import { describe, expect, it } from 'vitest';
import {
  newWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
} from './webhook-signature.js';

const at = new Date('2026-01-02T03:04:05.678Z');
const body = '{"status":"approved","decided_by":"mem_1","channel":"sms","at":"2026-01-02T03:04:05Z"}';
const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

describe('Standard Webhooks signatures', () => {
  it('matches the official test vector', () => {
    // From standard-webhooks/standard-webhooks libraries/javascript/src/webhook.test.ts,
    // "sign function works" (https://github.com/standard-webhooks/standard-webhooks).
    const headers = signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      new Date(1614265330 * 1000),
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
    expect(() =>
      verifyWebhook(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        headers,
        '{"test": 2432232314}',
        new Date(1614265330_000),
      ),
    ).not.toThrow();
  });

  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('round-trips, with the timestamp in whole seconds', () => {
    const secret = newWebhookSecret();
    const headers = signWebhook(secret, id, at, body);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(() => verifyWebhook(secret, headers, body, at)).not.toThrow();
    // Within tolerance either side, and with header names in any case.
    expect(() => verifyWebhook(secret, headers, body, new Date(at.getTime() + 299_000))).not.toThrow();
    expect(() => verifyWebhook(secret, headers, body, new Date(at.getTime() - 299_000))).not.toThrow();
    const shouting = {
      'Webhook-Id': headers['webhook-id'],
      'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
    };
    expect(() => verifyWebhook(secret, shouting, body, at)).not.toThrow();
  });

  it('accepts any matching v1 among several signatures (key rotation)', () => {
    const secret = newWebhookSecret();
    const headers = signWebhook(secret, id, at, body);
    const other = signWebhook(newWebhookSecret(), id, at, body)['webhook-signature'];
    const many = {
      ...headers,
      'webhook-signature': `${other} v1a,${headers['webhook-signature'].slice(3)} ${headers['webhook-signature']}`,
    };
    expect(() => verifyWebhook(secret, many, body, at)).not.toThrow();
  });

  describe('rejects', () => {
    const secret = newWebhookSecret();
    const headers = signWebhook(secret, id, at, body);
    const rejects = (fn: () => void, message: string): void => {
      expect(fn).toThrow(WebhookVerificationError);
      expect(fn).toThrow(message);
    };

    it('a tampered body', () => {
      rejects(() => verifyWebhook(secret, headers, body.replace('approved', 'denied'), at), 'no matching');
      rejects(() => verifyWebhook(secret, headers, `${body} `, at), 'no matching');
    });

    it('a wrong secret', () => {
      rejects(() => verifyWebhook(newWebhookSecret(), headers, body, at), 'no matching');
    });

    it('a tampered id or timestamp', () => {
      rejects(
        () => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_other' }, body, at),
        'no matching',
      );
      const ts = String(Number(headers['webhook-timestamp']) + 1);
      rejects(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': ts }, body, at), 'no matching');
    });

    it('an old timestamp (6 min)', () => {
      rejects(() => verifyWebhook(secret, headers, body, new Date(at.getTime() + 6 * 60_000)), 'too old');
    });

    it('a future timestamp (6 min)', () => {
      rejects(() => verifyWebhook(secret, headers, body, new Date(at.getTime() - 6 * 60_000)), 'future');
    });

    it('a malformed timestamp', () => {
      for (const bad of ['hello', '-1', '1.5', ' 1767323045', '1e9']) {
        rejects(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': bad }, body, at), 'invalid');
      }
    });

    it('a missing header', () => {
      for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
        rejects(() => verifyWebhook(secret, { ...headers, [name]: undefined }, body, at), 'missing');
        rejects(() => verifyWebhook(secret, { ...headers, [name]: '' }, body, at), 'missing');
      }
    });

    it('unknown versions, truncated and empty signatures', () => {
      const sig = headers['webhook-signature'];
      for (const bad of [`v2,${sig.slice(3)}`, sig.slice(0, 10), 'v1,', 'v1', sig.slice(3)]) {
        rejects(
          () => verifyWebhook(secret, { ...headers, 'webhook-signature': bad }, body, at),
          'no matching',
        );
      }
    });
  });

  it('refuses ids with "." and malformed secrets when signing', () => {
    const secret = newWebhookSecret();
    expect(() => signWebhook(secret, 'msg.1', at, body)).toThrow('no "."');
    expect(() => signWebhook(secret, '', at, body)).toThrow();
    expect(() => signWebhook('whsec_', id, at, body)).toThrow('whsec_');
    expect(() => signWebhook('whsec_not base64!', id, at, body)).toThrow('whsec_');
  });
});
