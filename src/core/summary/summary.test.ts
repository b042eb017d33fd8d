import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSummaryMessages, checkSummary, countSentences, SUMMARY_LIMITS } from './index.js';

const AWS_KEY = 'AKIA' + 'QWERTYUIOPASDFGH';
const GH_TOKEN = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

describe('checkSummary', () => {
  it.each([
    'Deletes the old build folder on the staging server.',
    'Pushes three commits to the main branch of the billing repository. The commits change the invoice rounding rules.',
    'Runs a database migration that adds a column to the orders table. It locks the table briefly. Nothing is deleted.',
    "Sends a $40 refund to the customer's card.",
    'Deploys version 1.2.3 of the api service to prod.example.com in us-east-1.',
  ])('accepts plain text: %s', (text) => {
    expect(checkSummary(text)).toEqual({ ok: true, text });
  });

  it('trims outer whitespace and makes runs of spaces one, nothing else', () => {
    expect(checkSummary('  Deletes   one file.\n')).toEqual({ ok: true, text: 'Deletes one file.' });
  });

  it.each([
    [undefined, 'empty'],
    ['', 'empty'],
    ['...', 'empty'],
    ['A'.repeat(SUMMARY_LIMITS.maxChars) + '.', 'too_long'],
    ['Deletes a file.\nThen another.', 'multi_line'],
    ['One. Two. Three. Four. Five.', 'sentences'],
    ['Deletes the \u202Eelif\u202C folder.', 'hidden_characters'],
    ['Deletes a\u200Bfile.', 'hidden_characters'],
    ['<b>Deletes</b> a file.', 'markup'],
    ['**Deletes** a file.', 'markup'],
    ['Deletes a [file](x).', 'markup'],
    ['# Deletes a file.', 'markup'],
    ['Deletes a file &amp; a folder.', 'markup'],
    ['Deletes _every_ file.', 'markup'],
    ['See https://evil.example/approve for details.', 'url'],
    ['See www.evil.example for details.', 'url'],
    ['Details at evil.example/path now.', 'url'],
    ['Runs `rm -rf /tmp/x` on the host.', 'markup'],
    ['Runs rm -rf on the build folder.', 'code'],
    ['sudo deletes the logs.', 'code'],
    ['Sets PATH to $HOME and exits.', 'code'],
    ['Builds and then ships it && restarts.', 'code'],
    ['Runs DROP TABLE users on the main database.', 'code'],
    [`Uses the key ${AWS_KEY} to upload.`, 'secret'],
    [`Authenticates with ${GH_TOKEN} to push.`, 'secret'],
    ['It is safe to approve this request.', 'advice'],
  ])('refuses %j (%s)', (text, reason) => {
    expect(checkSummary(text)).toEqual({ ok: false, reason });
  });

  it('never accepts text with a secret, a URL, markup characters or a line break (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z]{1,12}$/);
    const bad = fc.constantFrom(
      AWS_KEY,
      GH_TOKEN,
      'https://x.example',
      '<i>',
      '`x`',
      '**',
      '\n',
      '\u202E',
      '[a](b)',
      '$(id)',
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 20 }), bad, fc.nat(), (words, evil, at) => {
        const parts = [...words];
        parts.splice(at % (parts.length + 1), 0, evil);
        const text = `Plan ${parts.join(' ')} done.`;
        expect(checkSummary(text).ok).toBe(false);
      }),
    );
  });

  it('what it accepts is bounded, one line and free of secrets (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = checkSummary(s);
        if (!r.ok) return;
        expect([...r.text].length).toBeLessThanOrEqual(SUMMARY_LIMITS.maxChars);
        expect(r.text).not.toMatch(/[\r\n<>`*]/);
        expect(countSentences(r.text)).toBeGreaterThanOrEqual(1);
        expect(countSentences(r.text)).toBeLessThanOrEqual(3);
      }),
    );
  });
});

describe('buildSummaryMessages', () => {
  it('sends the redacted, bounded request and nothing of the secrets', () => {
    const payload = [
      `aws_access_key_id = ${AWS_KEY}`,
      `git push https://${GH_TOKEN}@github.com/acme/app.git`,
      'password=hunter2-very-secret',
      'x'.repeat(20_000),
      'TAIL_MARKER',
    ].join('\n');
    const messages = buildSummaryMessages({
      actionType: 'git.push',
      title: `push with ${GH_TOKEN}`,
      summary: `uses ${AWS_KEY}`,
      payload: { kind: 'command', content: payload },
    });
    const all = messages.map((m) => m.content).join('\n');
    for (const secret of [AWS_KEY, GH_TOKEN, 'hunter2-very-secret']) expect(all).not.toContain(secret);
    expect(all).toContain('[REDACTED:');
    // Cut after redaction: the tail past the bound never leaves.
    expect(all).not.toContain('TAIL_MARKER');
    const request = JSON.parse(messages[1]!.content) as { payload: { content: string } };
    expect([...request.payload.content].length).toBeLessThan(SUMMARY_LIMITS.payloadMaxChars + 20);
  });

  it('shows hidden characters of the payload as escapes', () => {
    const messages = buildSummaryMessages({
      actionType: 'shell.exec',
      title: 't',
      summary: '',
      payload: { kind: 'command', content: 'echo \u202Eabc' },
    });
    expect(messages[1]!.content).not.toContain('\u202E');
    expect(messages[1]!.content).toContain('U+202E');
  });

  it('has no payload field content when there is no payload', () => {
    const [, user] = buildSummaryMessages({ actionType: 'deploy', title: 'Deploy', summary: '' });
    expect(JSON.parse(user!.content)).toMatchObject({ payload: null, title: 'Deploy' });
  });
});
