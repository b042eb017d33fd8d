/**
 * The built-in console channel: writes the redacted gist to the server log, so a local install
 * (`npm start`) is a complete demo before any provider is configured. Never the payload.
 */
import type { Logger } from '../lib/logger.js';
import type { ChannelAdapter } from './channel.js';

export function createConsoleChannel(logger: Logger): ChannelAdapter {
  return {
    name: 'console',
    transmits: ['shortCode', 'actionType', 'riskLevel', 'title', 'gist', 'link'],
    async send(message, recipients) {
      logger.info(
        {
          channel: 'console',
          short_code: message.shortCode,
          action_type: message.actionType,
          risk: message.riskLevel,
          title: message.title,
          gist: message.gist.chat,
          link: message.link,
          recipients: recipients.map((r) => r.name),
        },
        `approval needed [${message.shortCode}] ${message.gist.sms}`,
      );
      return { messages: [{ memberId: null, ref: message.shortCode }] };
    },
    async update(ref, notice) {
      const by = notice.by !== null ? ` by ${notice.by}` : '';
      const via = notice.via !== null ? ` via ${notice.via}` : '';
      logger.info(
        { channel: 'console', short_code: ref, outcome: notice.outcome },
        `[${ref}] ${notice.outcome}${by}${via}`,
      );
    },
    async health() {
      return { ok: true, detail: 'writes to the server log' };
    },
  };
}
