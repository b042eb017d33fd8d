/** What a file path is, for diffs and file writes: CI, auth, infra/IAM, migration, lockfile, secrets, docs, tests. */
import type { ReasonCode } from './reasons.js';

export type PathClass =
  | 'ci'
  | 'auth'
  | 'iam'
  | 'infra'
  | 'migration'
  | 'lockfile'
  | 'dependency-manifest'
  | 'secret-file'
  | 'system'
  | 'docs'
  | 'tests'
  | 'code';

const CI =
  /(?:^|\/)(?:\.github\/(?:workflows|actions)\/|\.gitlab-ci\.ya?ml$|\.gitlab\/ci\/|\.circleci\/|Jenkinsfile$|\.buildkite\/|azure-pipelines[^/]*\.ya?ml$|bitbucket-pipelines\.yml$|\.travis\.yml$|\.drone\.ya?ml$|cloudbuild\.ya?ml$|\.woodpecker\/|\.woodpecker\.ya?ml$|buildspec\.ya?ml$|\.github\/dependabot\.yml$|\.pre-commit-config\.yaml$|CODEOWNERS$)/;
const IAM =
  /(?:^|[/_.-])(?:iam|rbac|roles?|policies|policy|permissions?|clusterrole|rolebinding|serviceaccount|sudoers)(?:[/_.-]|$)/i;
const INFRA =
  /(?:\.tf$|\.tfvars$|\.tf\.json$|\.hcl$|\.bicep$|(?:^|\/)(?:terraform|infra|infrastructure|k8s|kubernetes|helm|charts|manifests|deploy|deployment|ansible|pulumi|cloudformation|cdk|kustomize|argocd|flux)\/|(?:^|\/)(?:serverless\.ya?ml|docker-compose[^/]*\.ya?ml|compose\.ya?ml|Chart\.yaml|values[^/]*\.ya?ml|kustomization\.ya?ml|fly\.toml|app\.yaml|vercel\.json|netlify\.toml|Procfile|nginx\.conf)$)/i;
const MIGRATION =
  /(?:(?:^|\/)(?:migrations?|migrate|db\/migrate|alembic\/versions|flyway|liquibase|changelog|schema)\/|\.sql$|(?:^|\/)schema\.(?:rb|prisma|sql)$)/i;
const LOCKFILE =
  /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|go\.sum|poetry\.lock|Pipfile\.lock|uv\.lock|Gemfile\.lock|composer\.lock|mix\.lock|pubspec\.lock|Podfile\.lock|packages\.lock\.json|gradle\.lockfile|flake\.lock)$/;
const MANIFEST =
  /(?:^|\/)(?:package\.json|requirements[^/]*\.txt|pyproject\.toml|Pipfile|setup\.py|setup\.cfg|Cargo\.toml|go\.mod|Gemfile|composer\.json|pom\.xml|build\.gradle(?:\.kts)?|mix\.exs|pubspec\.yaml|\.npmrc|\.yarnrc(?:\.yml)?)$/;
const SECRET_FILE =
  /(?:(?:^|\/)\.env(?:\.[A-Za-z0-9_-]+)?$|\.pem$|\.key$|\.p12$|\.pfx$|\.jks$|\.keystore$|(?:^|\/)id_(?:rsa|dsa|ecdsa|ed25519)$|(?:^|\/)(?:credentials(?:\.json)?|secrets?\.(?:ya?ml|json|toml|env)|\.npmrc|\.pypirc|\.netrc|\.pgpass|\.htpasswd|service-account[^/]*\.json|kubeconfig|\.dockercfg)$|(?:^|\/)\.aws\/credentials$|(?:^|\/)\.ssh\/|(?:^|\/)\.docker\/config\.json$)/i;
const SYSTEM =
  /^(?:\/etc\/|\/boot\/|\/usr\/(?:s?bin|lib)\/|\/root\/|\/var\/spool\/cron|~\/\.(?:ssh|bashrc|bash_profile|profile|zshrc|zprofile|config\/autostart)|\/home\/[^/]+\/\.(?:ssh|bashrc|profile|zshrc)|\/Library\/LaunchDaemons\/)/;
const AUTH =
  /(?:^|[/_.-])(?:auth\w*|login|logout|sessions?|oauth\w*|oidc|sso|saml|jwt|passwords?|credentials?|crypto|security|tokens?|acl|mfa|totp|2fa|signin|signup|permissions?|polic(?:y|ies))(?:[/_.-]|$)/i;
const DOCS =
  /(?:\.(?:md|mdx|rst|adoc|txt)$|(?:^|\/)(?:docs?|documentation)\/|(?:^|\/)(?:LICENSE|LICENCE|NOTICE|AUTHORS|CHANGELOG|CONTRIBUTING)[^/]*$)/i;
const TESTS =
  /(?:(?:^|\/)(?:tests?|__tests__|spec|specs|e2e|fixtures|testdata|__snapshots__)\/|\.(?:test|spec)\.[A-Za-z0-9]+$|_test\.(?:go|py|rb|exs)$|(?:^|\/)test_[^/]+\.py$|\.snap$)/;

/** Most specific class first: the order is the severity order. */
export function classifyPath(path: string): PathClass {
  if (SYSTEM.test(path)) return 'system';
  if (SECRET_FILE.test(path)) return 'secret-file';
  if (CI.test(path)) return 'ci';
  if (LOCKFILE.test(path)) return 'lockfile';
  if (MANIFEST.test(path)) return 'dependency-manifest';
  if (DOCS.test(path)) return 'docs';
  if (TESTS.test(path)) return 'tests';
  if (MIGRATION.test(path)) return 'migration';
  if (INFRA.test(path)) return IAM.test(path) ? 'iam' : 'infra';
  if (IAM.test(path) && /\.(?:json|ya?ml|tf|hcl|rego)$/.test(path)) return 'iam';
  if (AUTH.test(path)) return 'auth';
  return 'code';
}

export const PATH_CLASS_REASON: Readonly<Record<PathClass, ReasonCode | undefined>> = {
  ci: 'ci_workflow_change',
  auth: 'auth_code_change',
  iam: 'iam_change',
  infra: 'infra_change',
  migration: 'migration_file',
  lockfile: 'lockfile_change',
  'dependency-manifest': 'dependency_change',
  'secret-file': 'secret_file_change',
  system: 'sensitive_path_write',
  docs: undefined,
  tests: undefined,
  code: undefined,
};
