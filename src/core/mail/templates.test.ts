import { describe, expect, it } from 'vitest';
import { expectShown, TROJAN_TITLE } from '../../../test/fixtures/trojan-source.js';
import { gist } from '../gist/index.js';
import { deviceClassOf, networkOf } from './device.js';
import {
  escapeHtml,
  formatTime,
  MAIL_KINDS,
  maskEmail,
  oneLine,
  renderHandoffMail,
  renderMail,
  type MailData,
} from './templates.js';

const hostile = '<img src=x onerror=alert(1)> & "quotes"\r\nBcc: victim@example.com';
const at = '2026-11-03T14:05:09.000Z';

const samples: Record<(typeof MAIL_KINDS)[number], MailData> = {
  invite: {
    kind: 'invite',
    orgName: hostile,
    inviterName: hostile,
    role: 'member',
    url: 'https://ony.test/invite#ony_inv_abc',
    expiresAt: at,
  },
  password_reset: {
    kind: 'password_reset',
    orgName: hostile,
    memberName: hostile,
    url: 'https://ony.test/reset-password#ony_pwr_abc',
    expiresAt: at,
  },
  email_change: {
    kind: 'email_change',
    orgName: hostile,
    memberName: hostile,
    url: 'https://ony.test/confirm-email#ony_eml_abc',
    expiresAt: at,
  },
  email_changed: {
    kind: 'email_changed',
    orgName: hostile,
    memberName: hostile,
    newAddressMasked: 'n•••@x.test',
    at,
  },
  sign_in_new_device: {
    kind: 'sign_in_new_device',
    orgName: hostile,
    memberName: hostile,
    at,
    device: hostile,
    network: '203.0.113.0/24',
    sessionsUrl: 'https://ony.test/settings/sessions',
  },
  totp_reset: { kind: 'totp_reset', orgName: hostile, memberName: hostile, at },
  role_changed: {
    kind: 'role_changed',
    orgName: hostile,
    memberName: hostile,
    from: 'member',
    to: 'admin',
    at,
  },
  erasure_scheduled: { kind: 'erasure_scheduled', orgName: hostile, memberName: hostile, erasesAt: at },
};

const links = (text: string) => [...text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]);

const samplesHandoff = {
  shortCode: 'ABC234',
  actionType: 'deploy',
  riskLevel: 'high',
  title: 'Deploy',
  gist: 'g',
  link: 'https://ony.test/v1/handoffs/1f0c',
};

describe('mail templates', () => {
  it('every kind renders a one-line subject, text and HTML with the same links; values are escaped', () => {
    for (const kind of MAIL_KINDS) {
      const data = samples[kind];
      const mail = renderMail(data);
      expect(mail.subject, kind).not.toMatch(/[\r\n]/);
      expect(mail.subject.length, kind).toBeLessThanOrEqual(150);
      expect(mail.html, kind).not.toContain('<img');
      expect(mail.html, kind).not.toMatch(/onerror=alert\(1\)>/);
      expect(mail.text, kind).not.toContain('\r\nBcc:');
      // The HTML shows each link twice (anchor and printed URL); the same set as the text.
      expect([...new Set(links(mail.html))], kind).toEqual(links(mail.text));
      expect(mail.text, kind).toContain('--');
    }
    expect(renderMail(samples.invite).text).toContain('2026-11-03 14:05 UTC');
  });

  it('refuses a link that is not http(s)', () => {
    expect(() => renderMail({ ...samples.invite, url: 'javascript:alert(1)' } as MailData)).toThrow(/http/);
    expect(() => renderMail({ ...samples.invite, url: 'not a url' } as MailData)).toThrow(/URL/);
  });

  it('the handoff mail holds the declared fields and the page link, and says a mail cannot decide', () => {
    const mail = renderHandoffMail({
      shortCode: 'ABC234',
      actionType: 'deploy',
      riskLevel: 'high',
      title: 'Deploy <b>api</b>',
      gist: 'high risk deploy: Deploy api',
      link: 'https://ony.test/v1/handoffs/1f0c',
    });
    expect(mail.subject).toBe('[ABC234] Approval needed: Deploy <b>api</b>');
    expect(mail.html).toContain('Deploy &lt;b&gt;api&lt;/b&gt;');
    expect(links(mail.text)).toEqual(['https://ony.test/v1/handoffs/1f0c']);
    expect(mail.text).toMatch(/cannot approve or deny/);
  });

  it('shows hidden characters in the handoff mail as escapes, in subject, text and HTML', () => {
    const mail = renderHandoffMail({
      shortCode: 'ABC234',
      actionType: 'shell.exec',
      riskLevel: 'high',
      title: TROJAN_TITLE,
      gist: gist(
        { action: { type: 'shell.exec' }, title: TROJAN_TITLE, summary: '' },
        { level: 'high', reasons: [] },
      ).chat,
      link: 'https://ony.test/v1/handoffs/1f0c',
    });
    for (const part of [mail.subject, mail.text, mail.html]) expectShown(part);
    expect(mail.subject).toBe('[ABC234] Approval needed: invoice⟨U+202E⟩gnp.exe ⟨U+200B⟩r⟨U+043C⟩ -rf tmp');
    // Even a gist that was not built by gist() (raw text) is shown, not applied.
    expectShown(renderHandoffMail({ ...samplesHandoff, gist: TROJAN_TITLE }).text);
  });

  it('never cuts an escape in half', () => {
    for (let n = 190; n < 200; n++)
      expect(oneLine(`${'x'.repeat(n)}\u202E${'y'.repeat(20)}`, 200)).not.toMatch(/⟨U?\+?[0-9A-F]{0,5}…$/);
  });

  it('escapes and masks', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(maskEmail('john.doe@acme.test')).toBe('j•••@acme.test');
    expect(maskEmail('nonsense')).toBe('•••');
    expect(formatTime('nope')).toBe('nope');
  });
});

describe('sign-in device class', () => {
  it('ignores version numbers and the last IPv4 octet / the IPv6 interface part', () => {
    const a = deviceClassOf('Mozilla/5.0 Firefox/130.0.1', '203.0.113.7');
    expect(a.network).toBe('203.0.113.0/24');
    expect(deviceClassOf('Mozilla/5.0 Firefox/131.2', '203.0.113.200').key).toBe(a.key);
    expect(deviceClassOf('Mozilla/5.0 Firefox/131.2', '::ffff:203.0.113.9').key).toBe(a.key);
    expect(deviceClassOf('Mozilla/5.0 Chrome/131.2', '203.0.113.7').key).not.toBe(a.key);
    expect(deviceClassOf('Mozilla/5.0 Firefox/130.0.1', '198.51.100.7').key).not.toBe(a.key);
    expect(deviceClassOf(null, '203.0.113.7').label).toBe('unknown browser');
  });

  it('reads IPv6 networks, and calls anything else unknown', () => {
    expect(networkOf('2001:db8:7::1')).toBe('2001:db8:7::/48');
    expect(networkOf('2001:0db8:0007:0000:0000:0000:0000:0001')).toBe('2001:db8:7::/48');
    expect(networkOf('::1')).toBe('0:0:0::/48');
    expect(networkOf('fe80::1%eth0')).toBe('fe80:0:0::/48');
    expect(networkOf('999.1.1.1')).toBe('unknown');
    expect(networkOf('1:2:3')).toBe('unknown');
    expect(networkOf('')).toBe('unknown');
  });
});
