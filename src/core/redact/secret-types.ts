/** Every kind of secret the redactor knows; the `<type>` in `[REDACTED:<type>]`. */
export const SECRET_TYPES = [
  // cloud
  'aws-access-key-id',
  'aws-secret-access-key',
  'aws-session-token',
  'gcp-api-key',
  'gcp-oauth-client-secret',
  'gcp-service-account-key',
  'azure-storage-account-key',
  'azure-shared-access-key',
  'azure-sas-token',
  'azure-ad-client-secret',
  'digitalocean-token',
  'hashicorp-vault-token',
  'databricks-token',
  'pulumi-token',
  'doppler-token',
  'supabase-token',
  'planetscale-token',
  // version control
  'github-pat',
  'github-oauth-token',
  'github-user-token',
  'github-app-token',
  'github-refresh-token',
  'github-fine-grained-pat',
  'gitlab-pat',
  'gitlab-pipeline-trigger-token',
  'gitlab-runner-token',
  'gitlab-deploy-token',
  'gitlab-token',
  // chat, CI, payment, AI, email, registries
  'slack-bot-token',
  'slack-user-token',
  'slack-app-token',
  'slack-legacy-token',
  'slack-config-token',
  'slack-webhook-url',
  'discord-bot-token',
  'discord-webhook-url',
  'telegram-bot-token',
  'stripe-secret-key',
  'stripe-restricted-key',
  'stripe-webhook-secret',
  'square-token',
  'shopify-token',
  'openai-api-key',
  'anthropic-api-key',
  'huggingface-token',
  'twilio-api-key',
  'sendgrid-api-key',
  'npm-token',
  'npmrc-auth',
  'pypi-token',
  'docker-hub-token',
  'docker-config-auth',
  'linear-api-key',
  'postman-api-key',
  'newrelic-api-key',
  'grafana-token',
  'atlassian-api-token',
  'sentry-token',
  'age-secret-key',
  // structural
  'jwt',
  'private-key',
  'openssh-private-key',
  'pgp-private-key',
  'connection-string-password',
  'basic-auth-url',
  'authorization-bearer',
  'authorization-basic',
  'cli-secret-flag',
  'secret-assignment',
  'kubernetes-secret-data',
  'generic-high-entropy',
] as const;

export type SecretType = (typeof SECRET_TYPES)[number];

export interface RedactionFinding {
  readonly type: SecretType;
  /** UTF-16 offset of the secret in the input text (inclusive). */
  readonly start: number;
  /** UTF-16 offset just past the secret in the input text (exclusive). */
  readonly end: number;
}
