/**
 * Prefix-anchored secret formats, modelled on the gitleaks and trufflehog rule sets.
 *
 * Linear time: every pattern starts with a literal or with a negative look-behind on the very class
 * its first quantifier consumes, so a match can only start at the beginning of a run of token
 * characters; every open-ended quantifier has an upper bound; adjacent quantifiers are separated by
 * a literal outside their classes. So the work per start position is bounded and start positions do
 * not overlap (see src/core/redact/redact.fuzz.test.ts for the adversarial timing checks).
 */
import { decodeBase64Loose, hasValidPrefixedTokenChecksum, shannonEntropy } from './checksums.js';
import { isPlaceholderValue } from './secret-names.js';
import type { SecretType } from './secret-types.js';

export interface PatternRule {
  readonly type: SecretType;
  /** Flags must include `g` and `d` (match indices). */
  readonly pattern: RegExp;
  /** The capture group holding the secret; 0 (the whole match) when absent. */
  readonly group?: number;
  /** Higher wins when two findings overlap. Prefixed formats 3, structural 2, key-name based 1. */
  readonly priority: number;
  /** Extra check on the secret (checksums, placeholders); a rejected match is skipped. */
  readonly validate?: (secret: string) => boolean;
  /**
   * When set, the pattern only runs on the rest of each line after a match of this command word
   * (`mysql … -pSECRET`, `curl … -u user:SECRET`), so a flag means a password only for that command.
   */
  readonly afterCommand?: RegExp;
}

/** Not preceded by a token character: the match starts a token. */
const START = String.raw`(?<![A-Za-z0-9_\-])`;
/** Not followed by a token character: the match ends a token. */
const END = String.raw`(?![A-Za-z0-9_\-])`;

function rx(source: string, flags = ''): RegExp {
  return new RegExp(source, `gd${flags}`);
}

function prefixed(type: SecretType, body: string, validate?: (secret: string) => boolean): PatternRule {
  return { type, pattern: rx(`${START}${body}${END}`), priority: 3, ...(validate ? { validate } : {}) };
}

const notPlaceholder = (s: string): boolean => !isPlaceholderValue(s);

/** A run of 6 consecutive ascending or descending characters (`abcdef`, `012345`, `987654`). */
function hasSequentialRun(s: string): boolean {
  let up = 1;
  let down = 1;
  for (let i = 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    up = d === 1 ? up + 1 : 1;
    down = d === -1 ? down + 1 : 1;
    if (up >= 6 || down >= 6) return true;
  }
  return false;
}

/**
 * The random part of a token looks generated: letters and digits, no long alphabet or digit runs
 * (`abcdefghij…`, `0123456789`), and at least 3 bits of entropy per character. Rejects `xxxx…`,
 * `your_token_here` and other documentation fillers after a real prefix.
 */
function looksRandom(s: string): boolean {
  return (
    /[0-9]/.test(s) &&
    /[A-Za-z]/.test(s) &&
    !hasSequentialRun(s) &&
    shannonEntropy(s) >= 3 &&
    !isPlaceholderValue(s)
  );
}

/** Checks `looksRandom` on what follows the first `skip` characters (the literal prefix). */
const randomAfter =
  (skip: number) =>
  (s: string): boolean =>
    looksRandom(s.slice(skip));

/**
 * GitHub and npm tokens carry a CRC32; a valid one proves the format. Tokens typed by hand in docs
 * and tests (and some synthetic ones) do not, so a random-looking body is accepted too.
 */
const checksumOrRandom = (s: string): boolean => hasValidPrefixedTokenChecksum(s) || looksRandom(s.slice(4));

/** Discord bot tokens start with the base64 of the bot's numeric user id. */
function discordTokenLooksReal(token: string): boolean {
  const first = token.slice(0, token.indexOf('.'));
  const decoded = decodeBase64Loose(first);
  return decoded !== undefined && /^\d{15,21}$/.test(decoded);
}

/** `Authorization: Basic <base64(user:password)>`. */
function basicCredentialsLookReal(value: string): boolean {
  const decoded = decodeBase64Loose(value);
  return (
    decoded !== undefined &&
    decoded.includes(':') &&
    !isPlaceholderValue(decoded.slice(decoded.indexOf(':') + 1))
  );
}

/** Bearer values: long enough and not a word or a template. */
function bearerLooksReal(value: string): boolean {
  return !isPlaceholderValue(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value);
}

function urlPasswordLooksReal(password: string): boolean {
  return !isPlaceholderValue(password) && !/^\*+$/.test(password);
}

export const PATTERN_RULES: readonly PatternRule[] = [
  // ---- cloud ----
  {
    type: 'aws-access-key-id',
    pattern: rx(String.raw`(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])`),
    priority: 3,
    validate: (s) => !s.endsWith('EXAMPLE'),
  },
  {
    type: 'aws-secret-access-key',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_])(?:aws_?)?secret_?access_?key["']?[ \t]{0,4}(?:=>|:=|=|:)[ \t]{0,4}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
      'i',
    ),
    group: 1,
    priority: 3,
    validate: (s) => !s.endsWith('EXAMPLEKEY'),
  },
  {
    type: 'aws-session-token',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_])(?:aws_?)?session_?token["']?[ \t]{0,4}(?:=>|:=|=|:)[ \t]{0,4}["']?([A-Za-z0-9/+=]{100,4096})`,
      'i',
    ),
    group: 1,
    priority: 3,
  },
  prefixed('gcp-api-key', String.raw`AIza[0-9A-Za-z_\-]{35}`),
  prefixed('gcp-oauth-client-secret', String.raw`GOCSPX-[A-Za-z0-9_\-]{28}`),
  {
    type: 'gcp-service-account-key',
    pattern: rx(String.raw`"private_key_id"[ \t]{0,4}:[ \t]{0,4}"([0-9a-f]{40})"`),
    group: 1,
    priority: 3,
  },
  {
    type: 'azure-storage-account-key',
    pattern: rx(String.raw`(?<![A-Za-z0-9])AccountKey=([A-Za-z0-9+/]{86}==)`),
    group: 1,
    priority: 3,
  },
  {
    type: 'azure-shared-access-key',
    pattern: rx(String.raw`(?<![A-Za-z0-9])SharedAccessKey=([A-Za-z0-9+/]{42,86}={0,2})`),
    group: 1,
    priority: 3,
  },
  {
    type: 'azure-sas-token',
    pattern: rx(String.raw`[?&]sig=([A-Za-z0-9%+/]{40,200}(?:%3D|=){0,2})`),
    group: 1,
    priority: 3,
  },
  {
    type: 'azure-ad-client-secret',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])`,
    ),
    priority: 3,
  },
  prefixed('digitalocean-token', String.raw`do[opr]_v1_[a-f0-9]{64}`),
  prefixed('hashicorp-vault-token', String.raw`hv[sbr]\.[A-Za-z0-9_\-]{24,512}`),
  prefixed('databricks-token', String.raw`dapi[a-f0-9]{32}(?:-\d)?`),
  prefixed('pulumi-token', String.raw`pul-[a-f0-9]{40}`),
  prefixed('doppler-token', String.raw`dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}`),
  prefixed('supabase-token', String.raw`sbp_[a-f0-9]{40}`),
  prefixed('planetscale-token', String.raw`pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.\-]{32,64}`),
  {
    // Vault tokens before 1.10: `s.` + 24 base62 (letters-only runs are code, `s.someProperty`).
    type: 'hashicorp-vault-token',
    pattern: rx(String.raw`(?<![A-Za-z0-9_.\-])s\.[A-Za-z0-9]{24}${END}`),
    priority: 3,
    validate: (s) => /[A-Z]/.test(s) && /[a-z]/.test(s) && randomAfter(2)(s),
  },
  // Terraform Cloud / Enterprise: `<14>.atlasv1.<60-70>`
  prefixed('terraform-api-token', String.raw`[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}`),
  prefixed('heroku-api-key', String.raw`HRKU-AA[0-9A-Za-z_\-]{58}`),
  {
    // Legacy Heroku keys are UUIDs: only under a heroku-named key.
    type: 'heroku-api-key',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9])heroku[A-Za-z0-9_.\-]{0,30}["']?[ \t]{0,4}(?:=>|:=|=|:)[ \t]{0,4}["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9])`,
      'i',
    ),
    group: 1,
    priority: 3,
  },
  prefixed(
    'flyio-token',
    String.raw`(?:fo1_[A-Za-z0-9_\-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,4096}={0,3}|fm2_[A-Za-z0-9+/]{100,4096}={0,3})`,
  ),
  prefixed('alibaba-access-key-id', String.raw`LTAI[A-Za-z0-9]{12,20}`, randomAfter(4)),
  prefixed(
    'yandex-token',
    String.raw`(?:t1\.[A-Za-z0-9_\-]{20,200}={0,2}\.[A-Za-z0-9_\-]{86}={0,2}|AQVN[A-Za-z0-9_\-]{35,38}|YC[A-Za-z0-9_\-]{38})`,
    randomAfter(4),
  ),
  prefixed(
    'cloudflare-token',
    String.raw`(?:cf(?:k|ut|at)_[A-Za-z0-9]{48}|v1\.0-[a-f0-9]{24}-[a-f0-9]{146})`,
  ),
  prefixed('dynatrace-token', String.raw`dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}`),
  prefixed('openshift-token', String.raw`sha256~[A-Za-z0-9_\-]{43}`),
  prefixed(
    'onepassword-token',
    String.raw`(?:ops_eyJ[A-Za-z0-9+/]{100,4096}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})`,
  ),

  // ---- version control ----
  prefixed('github-pat', String.raw`ghp_[A-Za-z0-9]{36}`, checksumOrRandom),
  prefixed('github-oauth-token', String.raw`gho_[A-Za-z0-9]{36}`, checksumOrRandom),
  prefixed('github-user-token', String.raw`ghu_[A-Za-z0-9]{36}`, checksumOrRandom),
  prefixed('github-app-token', String.raw`ghs_[A-Za-z0-9]{36}`, checksumOrRandom),
  prefixed('github-refresh-token', String.raw`ghr_[A-Za-z0-9]{36}`, checksumOrRandom),
  prefixed('github-fine-grained-pat', String.raw`github_pat_[A-Za-z0-9_]{70,120}`),
  prefixed('gitlab-pat', String.raw`glpat-[A-Za-z0-9_\-]{20,300}(?:\.[0-9a-z]{2}\.?[0-9a-z]{7,9})?`),
  prefixed('gitlab-pipeline-trigger-token', String.raw`glptt-[0-9a-f]{40}`),
  prefixed('gitlab-runner-token', String.raw`(?:glrt-[A-Za-z0-9_\-]{20,300}|GR1348941[A-Za-z0-9_\-]{20,64})`),
  prefixed('gitlab-deploy-token', String.raw`gldt-[A-Za-z0-9_\-]{20,300}`),
  prefixed('gitlab-token', String.raw`gl(?:cbt|ft|soat|oas|imt|agent|ffct)-[A-Za-z0-9_\-]{20,300}`),
  {
    type: 'gitlab-token',
    pattern: rx(String.raw`_gitlab_session=([0-9a-z]{32})${END}`),
    group: 1,
    priority: 3,
  },

  // ---- chat ----
  prefixed('slack-bot-token', String.raw`xoxb-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9\-]{0,80}`),
  prefixed('slack-bot-token', String.raw`xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}`),
  prefixed('slack-user-token', String.raw`xox[pe]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{28,34}`),
  prefixed('slack-app-token', String.raw`xapp-\d-[A-Z0-9]{8,20}-\d{10,16}-[a-z0-9]{32,80}`),
  prefixed('slack-legacy-token', String.raw`xox[aors]-[0-9A-Za-z\-]{10,120}`),
  prefixed('slack-config-token', String.raw`xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{140,170}`),
  {
    type: 'slack-webhook-url',
    pattern: rx(
      String.raw`(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+\-]{20,160}`,
    ),
    priority: 3,
  },
  prefixed(
    'discord-bot-token',
    String.raw`[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}`,
    discordTokenLooksReal,
  ),
  {
    type: 'discord-webhook-url',
    pattern: rx(
      String.raw`https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{15,21}/[A-Za-z0-9_\-]{60,80}`,
    ),
    priority: 3,
  },
  {
    type: 'telegram-bot-token',
    pattern: rx(String.raw`(?<![A-Za-z0-9_:\-])\d{5,16}:A[A-Za-z0-9_\-]{34}${END}`),
    priority: 3,
  },

  // ---- payment, AI, email, registries, SaaS ----
  prefixed('stripe-secret-key', String.raw`sk_(?:live|test|prod)_[A-Za-z0-9]{10,247}`),
  prefixed('stripe-restricted-key', String.raw`rk_(?:live|test|prod)_[A-Za-z0-9]{10,247}`),
  prefixed('stripe-webhook-secret', String.raw`whsec_[A-Za-z0-9+/]{32,88}`),
  prefixed('square-token', String.raw`sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,60}`),
  {
    type: 'square-token',
    pattern: rx(String.raw`(?<![A-Za-z0-9_\-+/])EAAA[A-Za-z0-9_\-]{22,60}(?![A-Za-z0-9_\-+/])`),
    priority: 3,
    validate: randomAfter(4),
  },
  prefixed('shopify-token', String.raw`shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}`),
  prefixed(
    'openai-api-key',
    String.raw`sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{16,250}T3BlbkFJ[A-Za-z0-9_\-]{16,250}`,
  ),
  prefixed('openai-api-key', String.raw`sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,250}`),
  prefixed('anthropic-api-key', String.raw`sk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_\-]{80,120}`),
  prefixed('huggingface-token', String.raw`(?:hf_|api_org_)[A-Za-z]{34}`),
  {
    type: 'twilio-api-key',
    pattern: rx(String.raw`(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])`),
    priority: 3,
  },
  {
    type: 'twilio-account-sid',
    pattern: rx(String.raw`(?<![A-Za-z0-9])AC[0-9a-f]{32}(?![A-Za-z0-9])`),
    priority: 3,
  },
  prefixed('sendgrid-api-key', String.raw`SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}`),
  // Also 66 characters with the dot anywhere (as gitleaks reads them); random-looking only.
  prefixed('sendgrid-api-key', String.raw`SG\.[A-Za-z0-9=_\-.]{66}(?![.=])`, randomAfter(3)),
  prefixed('npm-token', String.raw`npm_[A-Za-z0-9]{36}`, checksumOrRandom),
  {
    type: 'npmrc-auth',
    pattern: rx(String.raw`:_(?:authToken|auth|password)[ \t]{0,4}=[ \t]{0,4}["']?([^\s"']{6,512})`),
    group: 1,
    priority: 3,
    validate: notPlaceholder,
  },
  prefixed('pypi-token', String.raw`pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,512}`),
  prefixed('docker-hub-token', String.raw`dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,40}`),
  {
    type: 'docker-config-auth',
    pattern: rx(String.raw`"auth"[ \t]{0,4}:[ \t]{0,4}"([A-Za-z0-9+/]{8,1024}={0,2})"`),
    group: 1,
    priority: 2,
    validate: basicCredentialsLookReal,
  },
  prefixed('linear-api-key', String.raw`lin_api_[A-Za-z0-9]{40}`),
  prefixed('postman-api-key', String.raw`PMAK-[a-f0-9]{24}-[a-f0-9]{34}`),
  prefixed(
    'newrelic-api-key',
    String.raw`(?:NR(?:AK|AA|II)-[A-Za-z0-9]{27}|NRII-[A-Za-z0-9\-]{32}|NRJS-[a-f0-9]{19})`,
  ),
  prefixed(
    'grafana-token',
    String.raw`(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2}|eyJrIjoi[A-Za-z0-9]{70,400}={0,3})`,
  ),
  prefixed('atlassian-api-token', String.raw`ATATT3[A-Za-z0-9_=\-]{180,200}`),
  prefixed('sentry-token', String.raw`sntry[su]_[A-Za-z0-9+/=_]{60,400}`),
  prefixed('age-secret-key', String.raw`AGE-SECRET-KEY-1[0-9A-Z]{58}`),
  prefixed(
    'mapbox-token',
    String.raw`(?:sk|pk|tk)\.(?:eyJ[A-Za-z0-9_\-]{20,400}|[A-Za-z0-9]{60})\.[A-Za-z0-9_\-]{20,64}`,
  ),
  // Mailgun: `key-<32 hex>`, `pubkey-<32 hex>`, and the newer `<32 hex>-<8 hex>-<8 hex>` keys.
  prefixed('mailgun-api-key', String.raw`(?:pub)?key-[a-f0-9]{32}`),
  prefixed('mailgun-api-key', String.raw`[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}`),
  prefixed('firebase-fcm-server-key', String.raw`AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{120,200}`),
  prefixed('clojars-token', String.raw`CLOJARS_[a-zA-Z0-9]{60}`),
  prefixed('rubygems-token', String.raw`rubygems_[a-f0-9]{48}`),
  prefixed('jfrog-token', String.raw`(?:AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})`),
  prefixed('easypost-api-key', String.raw`EZ[AT]K[A-Za-z0-9]{54}`),
  prefixed('frameio-token', String.raw`fio-u-[A-Za-z0-9_=\-]{64}`),
  prefixed('gocardless-token', String.raw`(?:live|sandbox)_[A-Za-z0-9_=\-]{40}`, randomAfter(5)),
  prefixed('infracost-token', String.raw`ico-[A-Za-z0-9]{32}`),
  prefixed('prefect-token', String.raw`pnu_[A-Za-z0-9]{36}`),
  prefixed('readme-token', String.raw`rdme_[a-z0-9]{70}`),
  prefixed('scalingo-token', String.raw`tk-us-[A-Za-z0-9_\-]{48}`),
  prefixed('brevo-api-key', String.raw`x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}`),
  prefixed('shippo-token', String.raw`shippo_(?:live|test)_[a-fA-F0-9]{40}`),
  prefixed('typeform-token', String.raw`tfp_[A-Za-z0-9_.=\-]{59}(?![.=])`),
  prefixed('figma-token', String.raw`figd_[A-Za-z0-9_\-]{40,200}`),
  prefixed('adobe-client-secret', String.raw`p8e-[A-Za-z0-9]{32}`),
  prefixed('clickhouse-api-key', String.raw`4b1d[A-Za-z0-9]{38}`, (s) => /[A-Z]/.test(s) && /[g-z]/.test(s)),
  prefixed('duffel-token', String.raw`duffel_(?:test|live)_[A-Za-z0-9_=\-]{43}`),
  prefixed('facebook-access-token', String.raw`EAA[MC][A-Za-z0-9]{100,400}`),
  prefixed('flutterwave-key', String.raw`FLW(?:SECK|PUBK)_TEST-[a-hA-H0-9]{12,32}(?:-X)?`),
  prefixed('harness-token', String.raw`(?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}`),
  prefixed('maxmind-license-key', String.raw`[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk`),
  prefixed('notion-token', String.raw`(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})`, (s) =>
    s.startsWith('ntn_') ? true : randomAfter(7)(s),
  ),
  prefixed('octopus-deploy-api-key', String.raw`API-[A-Z0-9]{26}`, randomAfter(4)),
  prefixed('perplexity-api-key', String.raw`pplx-[A-Za-z0-9]{48}`),
  prefixed('groq-api-key', String.raw`gsk_[A-Za-z0-9]{52}`),
  prefixed('langsmith-api-key', String.raw`lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}`),
  prefixed(
    'sourcegraph-token',
    String.raw`sgp_(?:(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|[a-fA-F0-9]{40})`,
  ),
  prefixed('settlemint-token', String.raw`sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}`),
  prefixed('mailchimp-api-key', String.raw`[a-f0-9]{32}-us[0-9]{1,2}`),
  prefixed(
    'plaid-token',
    String.raw`access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`,
  ),
  prefixed('intra42-client-secret', String.raw`s-s4t2(?:ud|af)-[a-f0-9]{64}`),
  prefixed(
    'authress-key',
    String.raw`(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_\-][A-Za-z0-9\-]{10,32}\.[A-Za-z0-9+/_=\-]{30,120}`,
  ),
  {
    type: 'teams-webhook-url',
    pattern: rx(
      String.raw`https://[A-Za-z0-9\-]{1,63}\.webhook\.office\.com/webhookb2/[A-Za-z0-9@\-]{36,80}/IncomingWebhook/[A-Za-z0-9]{32}/[A-Za-z0-9\-]{36}`,
    ),
    priority: 3,
  },
  {
    type: 'twitter-bearer-token',
    pattern: rx(String.raw`(?<![A-Za-z0-9%])A{22}[A-Za-z0-9%]{80,100}(?![A-Za-z0-9%])`),
    priority: 3,
  },
  {
    // PuTTY .ppk: the base64 lines after `Private-Lines: N`.
    type: 'private-key',
    pattern: rx(
      String.raw`Private-Lines:[ \t]{0,4}\d{1,4}\r?\n((?:[A-Za-z0-9+/=]{1,128}(?:\r?\n|$)){1,400})`,
    ),
    group: 1,
    priority: 3,
  },

  // ---- structural ----
  prefixed('jwt', String.raw`eyJ[A-Za-z0-9_\-]{8,4096}\.eyJ[A-Za-z0-9_\-]{4,8192}\.[A-Za-z0-9_\-]{0,2048}`),
  {
    // A base64-encoded JWT (`ZXlK` is base64 of `eyJ`), as in Kubernetes and CI secrets.
    type: 'jwt',
    pattern: rx(String.raw`(?<![A-Za-z0-9+/])ZXlK[A-Za-z0-9+/]{60,8192}={0,2}`),
    priority: 3,
    validate: (s) => (decodeBase64Loose(s.replace(/=+$/, '')) ?? '').includes('.eyJ'),
  },
  {
    // postgres://user:password@host, mongodb+srv://…, redis://:password@…; not http(s) (below).
    type: 'connection-string-password',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9+.\-])(?!https?:|wss?:|ftps?:)[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^\s:/?#@"'<>]{0,256}:([^\s/?#@"'<>]{1,256})@`,
    ),
    group: 1,
    priority: 2,
    validate: urlPasswordLooksReal,
  },
  {
    type: 'basic-auth-url',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9+.\-])(?:https?|wss?|ftps?)://[^\s:/?#@"'<>]{0,256}:([^\s/?#@"'<>]{1,256})@`,
      'i',
    ),
    group: 1,
    priority: 2,
    validate: urlPasswordLooksReal,
  },
  {
    type: 'authorization-bearer',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_\-])(?:bearer|token|bot)[ \t]{1,4}([A-Za-z0-9._~+/\-]{16,4096}=*)`,
      'i',
    ),
    group: 1,
    priority: 2,
    validate: bearerLooksReal,
  },
  {
    type: 'authorization-basic',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_\-])authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?basic[ \t]{1,4}([A-Za-z0-9+/]{6,4096}={0,2})`,
      'i',
    ),
    group: 1,
    priority: 2,
    validate: basicCredentialsLookReal,
  },
  {
    // --password=…, --token …, --client-secret=…
    type: 'cli-secret-flag',
    pattern: rx(
      String.raw`(?<![A-Za-z0-9_\-])--(?:password|passwd|pass|token|api-key|apikey|api-token|secret|client-secret|access-token|auth-token|secret-key|access-key|private-key-password|db-password|registry-password|storepass|keypass)(?:=|[ \t]{1,4})["']?([^\s"'-][^\s"']{0,511})`,
      'i',
    ),
    group: 1,
    priority: 2,
    validate: notPlaceholder,
  },
  {
    // mysql -pSECRET (no space: with a space mysql prompts instead)
    type: 'cli-secret-flag',
    pattern: rx(String.raw`(?<=[ \t])-p([^\s\-][^\s]{0,255})`),
    afterCommand: /(?<![A-Za-z0-9_-])(?:mysql|mysqldump|mysqladmin|mariadb)(?![A-Za-z0-9_-])/g,
    group: 1,
    priority: 2,
    validate: notPlaceholder,
  },
  {
    type: 'cli-secret-flag',
    pattern: rx(String.raw`(?<![A-Za-z0-9_\-])sshpass[ \t]{1,4}-p[ \t]{0,4}["']?([^\s"']{1,256})`),
    group: 1,
    priority: 2,
    validate: notPlaceholder,
  },
  {
    // curl -u user:password, wget --user … (only for curl/wget/http: `-u` means other things elsewhere)
    type: 'cli-secret-flag',
    pattern: rx(String.raw`(?<=[ \t])(?:-u|--user)[ \t]{1,4}["']?[^\s:"']{1,256}:([^\s"']{1,256})`),
    afterCommand: /(?<![A-Za-z0-9_-])(?:curl|wget)(?![A-Za-z0-9_-])/g,
    group: 1,
    priority: 2,
    validate: notPlaceholder,
  },
];
