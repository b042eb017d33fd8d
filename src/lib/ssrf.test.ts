import { describe, expect, it } from 'vitest';
import { checkCallbackUrl, isPublicAddress, resolvePublicAddress, SsrfError, type LookupFn } from './ssrf.js';

const refusal = (fn: () => unknown): SsrfError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof SsrfError) return err;
    throw err;
  }
  throw new Error('expected an SsrfError');
};

describe('checkCallbackUrl', () => {
  it.each([
    'https://agent.example.com/callback',
    'https://agent.example.com:8443/cb?x=1',
    'https://93.184.216.34/cb',
    'https://[2606:4700:4700::1111]/cb',
    'https://8.8.8.8.', // trailing dot is still the public IP
  ])('accepts %s', (url) => {
    expect(checkCallbackUrl(url, {})).toBeInstanceOf(URL);
  });

  it('refuses http unless allowHttp', () => {
    const err = refusal(() => checkCallbackUrl('http://agent.example.com/cb', {}));
    expect(err.reason).toBe('scheme');
    expect(err.message).toBe('callback_url must use https, not http');
    expect(checkCallbackUrl('http://agent.example.com/cb', { allowHttp: true }).protocol).toBe('http:');
  });

  it.each([
    ['https://127.0.0.1/cb', 'private_address', '127.0.0.1'],
    ['https://[::1]/cb', 'private_address', '::1'],
    ['https://169.254.169.254/latest/meta-data/', 'private_address', '169.254.169.254'],
    ['https://10.0.0.1/', 'private_address', '10.0.0.1'],
    ['https://172.16.5.4/', 'private_address', '172.16.5.4'],
    ['https://192.168.1.1/', 'private_address', '192.168.1.1'],
    ['https://100.64.0.1/', 'private_address', '100.64.0.1'],
    ['https://0.0.0.0/', 'private_address', '0.0.0.0'],
    ['https://0/', 'private_address', '0.0.0.0'],
    ['https://[::ffff:127.0.0.1]/', 'private_address', '::ffff:7f00:1'],
    ['https://[::ffff:169.254.169.254]/', 'private_address', '::ffff:a9fe:a9fe'],
    ['https://[64:ff9b::10.0.0.1]/', 'private_address', '64:ff9b::a00:1'],
    ['https://0x7f.1/', 'private_address', '127.0.0.1'],
    ['https://2130706433/', 'private_address', '127.0.0.1'],
    ['https://127.1/', 'private_address', '127.0.0.1'],
    ['https://0177.0.0.1/', 'private_address', '127.0.0.1'],
    ['https://%31%32%37.0.0.1/', 'private_address', '127.0.0.1'],
    ['https://[fe80::1]/', 'private_address', 'fe80::1'],
    ['https://[fc00::1]/', 'private_address', 'fc00::1'],
    ['https://[::]/', 'private_address', '::'],
    ['https://localhost/', 'hostname', 'localhost'],
    ['https://LOCALHOST./', 'hostname', 'localhost'],
    ['https://api.localhost/', 'hostname', '.localhost'],
    ['https://printer.local/', 'hostname', '.local'],
    ['https://db.internal/', 'hostname', '.internal'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'hostname', 'metadata.google.internal'],
    ['https://redis/', 'hostname', 'single-label'],
    ['https://user:pass@agent.example.com/', 'userinfo', 'credentials'],
    ['https://user@agent.example.com/', 'userinfo', 'credentials'],
    ['ftp://agent.example.com/', 'scheme', 'not ftp'],
    ['file:///etc/passwd', 'scheme', 'not file'],
    ['not a url', 'invalid_url', 'not a valid absolute URL'],
    ['', 'invalid_url', 'not a valid absolute URL'],
    ['https://', 'invalid_url', 'not a valid absolute URL'],
    ['/relative/path', 'invalid_url', 'not a valid absolute URL'],
  ])('refuses %s (%s)', (url, reason, inMessage) => {
    const err = refusal(() => checkCallbackUrl(url, { allowHttp: true }));
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(inMessage);
  });

  it('gives the documented message for the metadata address', () => {
    expect(() => checkCallbackUrl('https://169.254.169.254/', {})).toThrow(
      'callback_url must not point to a private, loopback or link-local address (169.254.169.254)',
    );
  });

  it('lets allow-listed hosts through, matching case-insensitively and in any IP spelling', () => {
    expect(
      checkCallbackUrl('http://127.0.0.1:8080/cb', { allowHosts: ['127.0.0.1'], allowHttp: true }).port,
    ).toBe('8080');
    expect(checkCallbackUrl('https://0x7f.1/cb', { allowHosts: ['127.0.0.1'] }).hostname).toBe('127.0.0.1');
    expect(checkCallbackUrl('https://Agent.Internal/cb', { allowHosts: ['agent.internal'] }).hostname).toBe(
      'agent.internal',
    );
    expect(checkCallbackUrl('https://[::1]/cb', { allowHosts: ['::1'] }).hostname).toBe('[::1]');
    expect(checkCallbackUrl('https://[::1]/cb', { allowHosts: ['[::1]'] }).hostname).toBe('[::1]');
    // Only the listed host: a neighbour is still refused, and allowHosts does not relax the scheme.
    expect(refusal(() => checkCallbackUrl('https://127.0.0.2/', { allowHosts: ['127.0.0.1'] })).reason).toBe(
      'private_address',
    );
    expect(refusal(() => checkCallbackUrl('http://127.0.0.1/', { allowHosts: ['127.0.0.1'] })).reason).toBe(
      'scheme',
    );
  });
});

describe('isPublicAddress', () => {
  it.each([
    '0.1.2.3',
    '10.255.255.255',
    '100.127.255.255',
    '127.0.0.1',
    '169.254.169.254',
    '172.16.0.0',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.168.0.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::127.0.0.1',
    'fc00::1',
    'fdff:ffff::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    '2001:db8::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '0:0:0:0:0:ffff:c0a8:0101',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::1', // 6to4 wrapping 127.0.0.1
    'not an ip',
    '',
    '127.1',
  ])('%s is not public', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.167.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1', // 6to4 wrapping 8.8.8.8
  ])('%s is public', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
});

describe('resolvePublicAddress', () => {
  type Answer = { address: string; family: number }[];
  const lookupReturning = (answer: Answer | Error) => {
    const calls: string[] = [];
    const lookup = (async (host: string) => {
      calls.push(host);
      if (answer instanceof Error) throw answer;
      return answer;
    }) as unknown as LookupFn;
    return { lookup, calls };
  };

  it('refuses when any resolved address is private (DNS rebinding)', async () => {
    const { lookup, calls } = lookupReturning([
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ]);
    const err = await resolvePublicAddress(new URL('https://agent.example.com/cb'), { lookup }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SsrfError);
    expect((err as SsrfError).reason).toBe('private_address');
    expect((err as SsrfError).message).toContain('agent.example.com resolves to 10.0.0.7');
    expect(calls).toEqual(['agent.example.com']);
  });

  it('refuses a v4-mapped private answer', async () => {
    const { lookup } = lookupReturning([{ address: '::ffff:169.254.169.254', family: 6 }]);
    await expect(resolvePublicAddress(new URL('https://agent.example.com/'), { lookup })).rejects.toThrow(
      SsrfError,
    );
  });

  it('returns the first address when all are public', async () => {
    const { lookup } = lookupReturning([
      { address: '2606:4700:4700::1111', family: 6 },
      { address: '1.1.1.1', family: 4 },
    ]);
    await expect(resolvePublicAddress(new URL('https://agent.example.com/'), { lookup })).resolves.toEqual({
      address: '2606:4700:4700::1111',
      family: 6,
    });
  });

  it('returns IP literals without a lookup, and still checks them', async () => {
    const { lookup, calls } = lookupReturning([]);
    await expect(resolvePublicAddress(new URL('https://1.1.1.1/'), { lookup })).resolves.toEqual({
      address: '1.1.1.1',
      family: 4,
    });
    await expect(resolvePublicAddress(new URL('https://[::1]/'), { lookup })).rejects.toThrow(SsrfError);
    await expect(resolvePublicAddress(new URL('https://localhost/'), { lookup })).rejects.toThrow(SsrfError);
    expect(calls).toEqual([]);
  });

  it('lets allow-listed hosts, or allow-listed resolved addresses, through', async () => {
    const { lookup } = lookupReturning([{ address: '10.0.0.7', family: 4 }]);
    await expect(
      resolvePublicAddress(new URL('https://agent.internal/'), { lookup, allowHosts: ['AGENT.internal'] }),
    ).resolves.toEqual({ address: '10.0.0.7', family: 4 });
    await expect(
      resolvePublicAddress(new URL('https://agent.example.com/'), { lookup, allowHosts: ['10.0.0.7'] }),
    ).resolves.toEqual({ address: '10.0.0.7', family: 4 });
    await expect(
      resolvePublicAddress(new URL('https://agent.example.com/'), { lookup, allowHosts: ['10.0.0.8'] }),
    ).rejects.toThrow(SsrfError);
  });

  it('reports resolution failures and empty answers', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const failing = lookupReturning(notFound);
    const err = await resolvePublicAddress(new URL('https://nope.example.com/'), {
      lookup: failing.lookup,
    }).catch((e: unknown) => e);
    expect((err as SsrfError).reason).toBe('resolution_failed');
    expect((err as SsrfError).message).toContain('ENOTFOUND');
    const empty = lookupReturning([]);
    await expect(
      resolvePublicAddress(new URL('https://empty.example.com/'), { lookup: empty.lookup }),
    ).rejects.toThrow('has no addresses');
  });
});
