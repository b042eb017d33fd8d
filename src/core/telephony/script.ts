/**
 * A call script in provider-neutral form (pure data): what the caller hears and which keys are
 * gathered. Each provider renders it to its own markup (TwiML, TeXML, Plivo XML); the call flow
 * (`call-flow.ts`) only ever builds these.
 *
 * Shape of every rendered response, in order:
 *   1. `say`, spoken at a slow rate (outside any gather: it cannot be interrupted by a key);
 *   2. `gather`, when present: its `prompt` is spoken inside a keypad (and, with `speech`, voice)
 *      gather that posts the keys to `gather.action`; when the caller presses nothing the script
 *      continues with (3);
 *   3. `then`: `hangup`, or `redirect` to a URL (POST), which is how "no input" reaches the server
 *      (the same action URL with `&noinput=1`).
 */
export interface CallScript {
  readonly say: readonly string[];
  readonly gather?: Gather;
  readonly then: { readonly kind: 'hangup' } | { readonly kind: 'redirect'; readonly url: string };
}

export interface Gather {
  /** Absolute URL the keys (or speech) are POSTed to. */
  readonly action: string;
  /** Keys to collect: 1 for a menu, 6 for a TOTP code. */
  readonly digits: number;
  /** Seconds to wait for the first key (and between keys). */
  readonly timeoutS: number;
  /** A key that ends the input early (`#`), or none. */
  readonly finishOnKey: '#' | '';
  /** Spoken inside the gather: a key press interrupts it. */
  readonly prompt: readonly string[];
  /** Also listen for speech (the optional voice agent); keys still work. */
  readonly speech: boolean;
}

/** Escapes text for an XML text node or attribute value (all four providers speak XML). */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
