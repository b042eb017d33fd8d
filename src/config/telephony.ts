/**
 * Telephony configuration (docs/telephony.md): one provider for calls and SMS, picked by
 * ONY_TELEPHONY_PROVIDER, with its credentials from the environment. Parsed by `loadConfig`.
 */
export type TelephonyProviderConfig =
  | {
      readonly name: 'twilio';
      readonly accountSid: string;
      readonly authToken: string;
      /** REST base; operators leave it at https://api.twilio.com (tests point it at a fake). */
      readonly apiUrl: string;
    }
  | {
      readonly name: 'signalwire';
      readonly projectId: string;
      readonly apiToken: string;
      /** The space, e.g. https://example.signalwire.com (its LaML REST API is Twilio-compatible). */
      readonly spaceUrl: string;
      /** The signing key that signs SignalWire's webhooks (X-SignalWire-Signature). */
      readonly signingKey: string;
    }
  | {
      readonly name: 'telnyx';
      readonly apiKey: string;
      /** The account's Ed25519 public key (base64), which verifies Telnyx's webhook signatures. */
      readonly publicKey: string;
      /** The TeXML application (connection) id that places the calls. */
      readonly texmlAppId: string;
      /** The messaging profile that sends the SMS; unset: the From number's own profile. */
      readonly messagingProfileId: string | undefined;
      /** REST base; operators leave it at https://api.telnyx.com (tests point it at a fake). */
      readonly apiUrl: string;
    }
  | {
      readonly name: 'plivo';
      readonly authId: string;
      readonly authToken: string;
      /** REST base; operators leave it at https://api.plivo.com (tests point it at a fake). */
      readonly apiUrl: string;
    };

export interface VoiceAgentConfig {
  /** An OpenAI-compatible API base, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly model: string;
}

export interface TelephonyConfig {
  readonly provider: TelephonyProviderConfig;
  /** The caller id and SMS sender, E.164. */
  readonly from: string;
  /** Per number, in any 15 minutes (carriers flag numbers that are called or texted too often). */
  readonly callsPer15Min: number;
  readonly smsPer15Min: number;
  /** Answering-machine detection on approval calls: a voicemail hears no gist. */
  readonly machineDetection: boolean;
  /** Optional: the approver may speak; off unless ONY_VOICE_AGENT_URL is set. */
  readonly voiceAgent: VoiceAgentConfig | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

const E164 = /^\+[1-9]\d{6,14}$/;
const URL_RE = /^https?:\/\/[^\s?#]+$/;

/** Parses the telephony variables; undefined when ONY_TELEPHONY_PROVIDER is unset. Problems are pushed. */
export function parseTelephonyConfig(
  env: Env,
  problems: string[],
  int: (name: string, fallback: number, min: number, max: number) => number,
  bool: (name: string, fallback: boolean) => boolean,
): TelephonyConfig | undefined {
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const need = (name: string, what: string): string => {
    const v = str(name);
    if (v === undefined)
      problems.push(`${name} is required with ONY_TELEPHONY_PROVIDER=${providerName} (${what})`);
    return v ?? '';
  };
  const url = (name: string, fallback: string): string => {
    const v = str(name) ?? fallback;
    if (!URL_RE.test(v)) problems.push(`${name} must be an http(s) URL (got "${v}")`);
    return v.replace(/\/+$/, '');
  };

  const providerName = str('ONY_TELEPHONY_PROVIDER')?.toLowerCase();
  if (providerName === undefined) return undefined;
  let provider: TelephonyProviderConfig;
  switch (providerName) {
    case 'twilio':
      provider = {
        name: 'twilio',
        accountSid: need('ONY_TWILIO_ACCOUNT_SID', 'AC…, from the Twilio console'),
        authToken: need('ONY_TWILIO_AUTH_TOKEN', 'it also verifies X-Twilio-Signature'),
        apiUrl: url('ONY_TWILIO_API_URL', 'https://api.twilio.com'),
      };
      if (provider.accountSid !== '' && !/^AC[0-9a-f]{32}$/i.test(provider.accountSid))
        problems.push('ONY_TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits');
      break;
    case 'signalwire':
      provider = {
        name: 'signalwire',
        projectId: need('ONY_SIGNALWIRE_PROJECT_ID', 'the project id, from the space dashboard'),
        apiToken: need('ONY_SIGNALWIRE_API_TOKEN', 'an API token of the project'),
        // Required: one message when missing, another when it is not a URL.
        spaceUrl:
          str('ONY_SIGNALWIRE_SPACE_URL') === undefined
            ? need('ONY_SIGNALWIRE_SPACE_URL', 'https://<space>.signalwire.com')
            : url('ONY_SIGNALWIRE_SPACE_URL', ''),
        signingKey: need(
          'ONY_SIGNALWIRE_SIGNING_KEY',
          'API > Signing Key; it verifies X-SignalWire-Signature',
        ),
      };
      if (
        provider.projectId !== '' &&
        !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(provider.projectId)
      )
        problems.push('ONY_SIGNALWIRE_PROJECT_ID must be the project id, a UUID');
      break;
    case 'telnyx':
      provider = {
        name: 'telnyx',
        apiKey: need('ONY_TELNYX_API_KEY', 'KEY…, from the Telnyx portal'),
        publicKey: need('ONY_TELNYX_PUBLIC_KEY', 'the base64 Ed25519 public key that verifies webhooks'),
        texmlAppId: need('ONY_TELNYX_TEXML_APP_ID', 'the TeXML application that places the calls'),
        messagingProfileId: str('ONY_TELNYX_MESSAGING_PROFILE_ID'),
        apiUrl: url('ONY_TELNYX_API_URL', 'https://api.telnyx.com'),
      };
      if (provider.publicKey !== '' && Buffer.from(provider.publicKey, 'base64').length !== 32)
        problems.push('ONY_TELNYX_PUBLIC_KEY must be a 32-byte Ed25519 public key, base64-encoded');
      break;
    case 'plivo':
      provider = {
        name: 'plivo',
        authId: need('ONY_PLIVO_AUTH_ID', 'MA… or SA…, from the Plivo console'),
        authToken: need('ONY_PLIVO_AUTH_TOKEN', 'it also verifies X-Plivo-Signature-V3'),
        apiUrl: url('ONY_PLIVO_API_URL', 'https://api.plivo.com'),
      };
      break;
    default:
      problems.push(
        `ONY_TELEPHONY_PROVIDER must be twilio, signalwire, telnyx or plivo (got "${providerName}")`,
      );
      return undefined;
  }
  const from = str('ONY_TELEPHONY_FROM');
  if (from === undefined || !E164.test(from))
    problems.push(
      `ONY_TELEPHONY_FROM must be your provider number in E.164 form, e.g. +14155550100 (got "${from ?? ''}")`,
    );
  const agentUrl = str('ONY_VOICE_AGENT_URL');
  if (agentUrl !== undefined && !URL_RE.test(agentUrl))
    problems.push(
      `ONY_VOICE_AGENT_URL must be the http(s) base of an OpenAI-compatible API (got "${agentUrl}")`,
    );
  return Object.freeze({
    provider: Object.freeze(provider),
    from: from ?? '',
    callsPer15Min: int('ONY_TELEPHONY_CALLS_PER_15MIN', 3, 1, 100),
    smsPer15Min: int('ONY_TELEPHONY_SMS_PER_15MIN', 5, 1, 100),
    machineDetection: bool('ONY_TELEPHONY_MACHINE_DETECTION', true),
    voiceAgent:
      agentUrl === undefined
        ? undefined
        : Object.freeze({
            url: agentUrl.replace(/\/+$/, ''),
            apiKey: str('ONY_VOICE_AGENT_API_KEY'),
            model: str('ONY_VOICE_AGENT_MODEL') ?? 'gpt-4o-mini',
          }),
  });
}
