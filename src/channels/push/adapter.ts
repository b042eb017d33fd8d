/**
 * The Web Push channel (issue #22 §2): a new high or critical handoff reaches the browsers its
 * members subscribed, through each browser's push service (RFC 8030), signed with the server's VAPID
 * key (RFC 8292) and encrypted for the browser (aes128gcm, RFC 8291 / 8188) by the `web-push`
 * package. The message holds the redacted gist only (core/push/notification.ts); the push service
 * sees an encrypted blob, the endpoint and the VAPID token.
 *
 * A recipient's `address` is the subscription (`PushSubscription.toJSON()`, as JSON text). Each
 * endpoint passes the SSRF guard at delivery too (resolved, every address vetted, connection pinned):
 * a subscription is data a browser sent, so it is treated like an agent's callback URL.
 *
 * Pushes cannot be edited once delivered, so `update` does nothing; the page behind the
 * notification always shows the current state.
 */
import webpush from 'web-push';
import { pushNotification } from '../../core/push/notification.js';
import { deliverGuarded, type DeliverOptions } from '../../lib/callback-delivery.js';
import type { ChannelAdapter, OutboundMessage, Recipient, SentMessage } from '../channel.js';

export interface VapidKeys {
  /** `mailto:` or `https:` contact the push service may use (RFC 8292 `sub`). */
  readonly subject: string;
  /** Uncompressed P-256 public key, base64url (the browser's `applicationServerKey`). */
  readonly publicKey: string;
  /** The 32-byte P-256 private key, base64url. */
  readonly privateKey: string;
}

export interface PushChannelDeps {
  readonly vapid: VapidKeys;
  /** Push service hosts that may be private or plain http (a test's fake, a LAN gateway). */
  readonly allowHosts: readonly string[];
  readonly timeoutMs?: number;
  /** Injected for tests of the guard; default DNS. */
  readonly lookup?: DeliverOptions['lookup'];
}

/** One recipient's result: delivered, gone (404/410: delete the subscription) or failed. */
export type PushOutcome = 'sent' | 'gone' | 'failed';

export interface PushChannel extends ChannelAdapter {
  /** Like `send`, with each recipient's outcome (keyed by the recipient's position). */
  deliver(message: OutboundMessage, recipients: readonly Recipient[]): Promise<readonly PushOutcome[]>;
}

/** How long a push service keeps an undelivered message: the phone may be offline for a while. */
export const PUSH_TTL_SECONDS = 3_600;

/** Whether an endpoint's host may be private or plain http (allow-listed). */
export const pushHostAllowed = (endpoint: string, allowHosts: readonly string[]): boolean => {
  try {
    const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    return allowHosts.some((h) => h.toLowerCase() === host);
  } catch {
    return false;
  }
};

export function createPushChannel(deps: PushChannelDeps): PushChannel {
  const { vapid, allowHosts } = deps;
  const timeoutMs = deps.timeoutMs ?? 10_000;

  async function deliverOne(body: string, address: string): Promise<PushOutcome> {
    const subscription = JSON.parse(address) as webpush.PushSubscription;
    const details = webpush.generateRequestDetails(subscription, body, {
      vapidDetails: vapid,
      TTL: PUSH_TTL_SECONDS,
      urgency: 'high',
      contentEncoding: 'aes128gcm',
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(details.headers)) headers[k] = String(v);
    try {
      await deliverGuarded(details.endpoint, details.body ?? Buffer.alloc(0), headers, {
        allowHosts,
        allowHttp: pushHostAllowed(details.endpoint, allowHosts),
        timeoutMs,
        contentType: 'application/octet-stream',
        ...(deps.lookup !== undefined ? { lookup: deps.lookup } : {}),
      });
      return 'sent';
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 404 || status === 410) return 'gone';
      throw err;
    }
  }

  const channel: PushChannel = {
    name: 'push',
    transmits: ['handoffId', 'shortCode', 'actionType', 'riskLevel', 'title', 'link'],
    async deliver(message, recipients) {
      // The link leaves as a path of this server (the service worker opens it on its own origin).
      const body = JSON.stringify(pushNotification(message));
      return Promise.all(
        recipients.map(async (r) => {
          if (r.address === null) return 'failed' as const;
          try {
            return await deliverOne(body, r.address);
          } catch {
            return 'failed' as const;
          }
        }),
      );
    },
    async send(message, recipients) {
      const outcomes = await channel.deliver(message, recipients);
      const messages: SentMessage[] = [];
      outcomes.forEach((o, i) => {
        if (o === 'sent') messages.push({ memberId: recipients[i]!.memberId, ref: 'push' });
      });
      return { messages };
    },
    async update() {
      // A delivered notification cannot be changed; the page it opens shows the outcome.
    },
    async health() {
      return { ok: true, detail: 'Web Push signs with this server’s VAPID key; no account needed' };
    },
  };
  return channel;
}
