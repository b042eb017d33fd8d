import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { maskPhone, maskPhonesInText } from '../../src/lib/phone.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger('info', sink), text: () => lines.join('') };
}

describe('logger', () => {
  it('redacts credentials wherever they sit', () => {
    const { logger, text } = capture();
    logger.info(
      {
        req: {
          headers: {
            authorization: 'Bearer ony_dev_SECRET1',
            cookie: 'ony_session=ony_ses_SECRET2',
            'x-csrf-token': 'SECRET3',
          },
        },
        body: { password: 'SECRET4', totp_code: '123456', token: 'SECRET5', recovery_code: 'SECRET6' },
        password: 'SECRET7',
      },
      'login attempt',
    );
    const out = text();
    for (let i = 1; i <= 7; i++) expect(out).not.toContain(`SECRET${i}`);
    expect(out).not.toContain('123456');
    expect(out).toContain('[redacted]');
  });

  it('masks phone numbers in values and messages', () => {
    const { logger, text } = capture();
    logger.info({ to: '+14155550123', nested: { list: ['call +442071838750 now'] } }, 'calling +14155550123');
    const out = text();
    expect(out).not.toContain('4155550123');
    expect(out).not.toContain('2071838750');
    expect(out).toContain('0123');
  });

  it('leaves ids, timestamps and versions alone', () => {
    const s = 'id 3f2b9c1e-1234-4abc-9def-0123456789ab at 1700000000000 v1.2.3 sha 4155550123abc';
    expect(maskPhonesInText(s)).toBe(s);
  });
});

describe('maskPhone', () => {
  it('keeps the country code and the last four digits', () => {
    expect(maskPhone('+14155550123')).toBe('+1••••••0123');
    expect(maskPhone('+442071838750')).toBe('+44••••••8750');
    expect(maskPhone('+1')).toBe('•••');
  });
});
