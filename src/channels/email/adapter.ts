/**
 * The email channel: an escalation step mails each targeted member the gist (action, risk, redacted
 * title, short code) and a link to the handoff's page. No approve or deny link and no inbound path:
 * deciding needs a signed-in session, so a forwarded mail cannot decide. A recipient's address is
 * the member's own email. A sent mail cannot be changed, so `update` does nothing: the page behind
 * the link always shows the current state.
 */
import { renderHandoffMail } from '../../core/mail/templates.js';
import type { ChannelAdapter, SentMessage } from '../channel.js';
import type { MailTransport } from './transport.js';

export function createEmailChannel(transport: MailTransport): ChannelAdapter {
  return {
    name: 'email',
    transmits: ['shortCode', 'actionType', 'riskLevel', 'title', 'gist', 'link'],
    async send(message, recipients) {
      const mail = renderHandoffMail({
        shortCode: message.shortCode,
        actionType: message.actionType,
        riskLevel: message.riskLevel,
        title: message.title,
        gist: message.gist.chat,
        link: message.link,
      });
      const sent: SentMessage[] = [];
      let firstError: unknown;
      // One mail per person (no shared To: line: members do not learn each other's addresses).
      for (const r of recipients) {
        if (r.address === null) continue;
        try {
          const { messageId } = await transport.send({ to: r.address, ...mail });
          sent.push({ memberId: r.memberId, ref: messageId.slice(0, 200) });
        } catch (err) {
          firstError ??= err;
        }
      }
      // Nobody reached although someone should have been: the step failed (recorded as such).
      if (sent.length === 0 && firstError !== undefined) throw firstError;
      return { messages: sent };
    },
    async update() {
      // A mail cannot be edited after it was sent; the linked page shows the outcome.
    },
    async health() {
      try {
        await transport.verify();
        return { ok: true, detail: 'the SMTP relay accepts connections' };
      } catch (err) {
        const cls = (err as { errorClass?: string }).errorClass ?? 'other';
        return { ok: false, detail: `the SMTP relay is not usable (${cls})` };
      }
    },
  };
}
