/**
 * Closed set of reasons the risk engine gives, each with its default level and an explanation.
 * `floor: true` marks catastrophic actions: no policy can bring them below critical.
 */
import type { RiskLevel } from './levels.js';

export const REASON_CODES = [
  // catastrophic (floor: critical)
  'recursive_delete_root',
  'disk_wipe',
  'drop_database',
  'root_permission_change',
  'fork_bomb',
  'protected_data_delete',
  'repository_delete',
  // combinations
  'destructive_in_production',
  // shell and files
  'destructive_delete',
  'delete_files',
  'build_artifacts_delete',
  'remote_code_pipe',
  'obfuscated_command',
  'dynamic_command',
  'privileged_command',
  'insecure_permissions',
  'sensitive_path_write',
  'system_shutdown',
  'process_kill',
  'security_disable',
  'discard_local_changes',
  'history_rewrite',
  'package_publish',
  'infra_destroy',
  'infra_change',
  // git
  'force_push_protected_branch',
  'protected_branch_delete',
  'force_push',
  'push_protected_branch',
  // targets
  'production_target',
  'deploy',
  'preview_deploy',
  'scale_to_zero',
  // SQL and data
  'schema_drop',
  'unbounded_delete',
  'unbounded_update',
  'schema_change',
  'data_modification',
  'unrecognized_sql',
  'sensitive_table_read',
  'read_only_query',
  // identity and secrets
  'iam_admin_grant',
  'iam_change',
  'iam_readonly',
  'secret_in_payload',
  'hidden_characters',
  'secret_file_change',
  // payments and email
  'payment_critical',
  'payment',
  'payment_over_threshold',
  'amount_mismatch',
  'payment_amount_unknown',
  'email_send',
  'bulk_email',
  // diffs
  'ci_workflow_change',
  'auth_code_change',
  'migration_file',
  'lockfile_change',
  'dependency_change',
  'docs_or_tests_only',
  // nothing to analyse
  'unverifiable_action',
  'analysis_incomplete',
  'mcp_tool',
  'mcp_tool_allowed',
  // org policy
  'policy_raise',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

export interface ReasonInfo {
  readonly level: RiskLevel;
  /** Catastrophic: never below critical, whatever the policy says. */
  readonly floor?: true;
  /** One sentence for `ony risk --explain`, the dashboard and docs. */
  readonly explanation: string;
  /** A few words for speech and SMS (`deletes from the root`). */
  readonly phrase: string;
}

export const REASONS: Readonly<Record<ReasonCode, ReasonInfo>> = {
  recursive_delete_root: {
    level: 'critical',
    floor: true,
    explanation: 'Recursively deletes the filesystem root, a home directory or a top-level system directory.',
    phrase: 'deletes from the root',
  },
  disk_wipe: {
    level: 'critical',
    floor: true,
    explanation:
      'Writes to, formats or wipes a block device (dd, mkfs, wipefs, shred, redirect to /dev/sdX).',
    phrase: 'wipes a disk',
  },
  drop_database: {
    level: 'critical',
    floor: true,
    explanation: 'Drops a whole database or schema, or flushes a whole data store.',
    phrase: 'drops a database',
  },
  root_permission_change: {
    level: 'critical',
    floor: true,
    explanation:
      'Recursively changes permissions or ownership from the filesystem root or a system directory.',
    phrase: 'changes permissions on the whole system',
  },
  fork_bomb: {
    level: 'critical',
    floor: true,
    explanation: 'A fork bomb: exhausts the host.',
    phrase: 'fork bomb',
  },
  protected_data_delete: {
    level: 'critical',
    floor: true,
    explanation:
      'Deletes a database data directory, system identity or auth files (passwd, shadow, sudoers, authorized_keys) or boot/kernel files.',
    phrase: 'deletes data or system files',
  },
  repository_delete: {
    level: 'critical',
    floor: true,
    explanation: 'Deletes a whole repository, cloud project, account or storage bucket.',
    phrase: 'deletes a repository or project',
  },
  destructive_in_production: {
    level: 'critical',
    explanation:
      'A destructive action (delete, drop, unbounded change, infrastructure teardown) aimed at production.',
    phrase: 'destructive in production',
  },
  destructive_delete: {
    level: 'high',
    explanation: 'Deletes recursively or in bulk (rm -r, find -delete, xargs rm, bucket or volume removal).',
    phrase: 'deletes files in bulk',
  },
  delete_files: {
    level: 'medium',
    explanation: 'Deletes named files or disposable build directories.',
    phrase: 'deletes files',
  },
  build_artifacts_delete: {
    level: 'low',
    explanation:
      'Deletes build artefacts or caches inside the workspace or under /tmp (node_modules, dist, build, coverage, .cache, target).',
    phrase: 'deletes build artefacts',
  },
  remote_code_pipe: {
    level: 'high',
    explanation: 'Downloads code and runs it straight away (curl … | sh, bash <(wget …)).',
    phrase: 'runs downloaded code',
  },
  obfuscated_command: {
    level: 'high',
    explanation:
      'Runs a command that is hidden (base64 or hex decoded, reversed, built at run time) and piped to a shell or eval.',
    phrase: 'runs a hidden command',
  },
  dynamic_command: {
    level: 'medium',
    explanation: 'The program to run is only known at run time (a variable or command substitution).',
    phrase: 'runs a command chosen at run time',
  },
  privileged_command: {
    level: 'medium',
    explanation: 'Runs with elevated privileges (sudo, doas, su).',
    phrase: 'runs as root',
  },
  insecure_permissions: {
    level: 'medium',
    explanation: 'Makes files world-writable or setuid.',
    phrase: 'loosens file permissions',
  },
  sensitive_path_write: {
    level: 'high',
    explanation: 'Writes to system configuration, SSH keys, sudoers, shell start-up files or cron.',
    phrase: 'changes system or SSH configuration',
  },
  system_shutdown: {
    level: 'high',
    explanation: 'Shuts down or reboots a host, or stops system services.',
    phrase: 'shuts down a host',
  },
  process_kill: {
    level: 'medium',
    explanation: 'Kills processes by name or all processes.',
    phrase: 'kills processes',
  },
  security_disable: {
    level: 'high',
    explanation: 'Turns off a firewall, SELinux/AppArmor or another security control.',
    phrase: 'turns off a security control',
  },
  discard_local_changes: {
    level: 'medium',
    explanation: 'Discards uncommitted work (git reset --hard, git clean -fdx, git checkout -- .).',
    phrase: 'discards local changes',
  },
  history_rewrite: {
    level: 'high',
    explanation: 'Rewrites git history across the repository (filter-branch, filter-repo).',
    phrase: 'rewrites git history',
  },
  package_publish: {
    level: 'high',
    explanation: 'Publishes a package or image to a registry (npm publish, docker push, twine upload).',
    phrase: 'publishes a package',
  },
  infra_destroy: {
    level: 'high',
    explanation:
      'Tears down infrastructure (terraform destroy, kubectl delete, instance or cluster deletion).',
    phrase: 'destroys infrastructure',
  },
  infra_change: {
    level: 'high',
    explanation: 'Changes infrastructure (terraform apply, Kubernetes/Helm manifests, cloud resources).',
    phrase: 'changes infrastructure',
  },
  force_push_protected_branch: {
    level: 'high',
    explanation: 'Force-pushes to a protected branch, rewriting its shared history.',
    phrase: 'force-pushes a protected branch',
  },
  protected_branch_delete: {
    level: 'high',
    explanation: 'Deletes a protected branch on the remote.',
    phrase: 'deletes a protected branch',
  },
  force_push: {
    level: 'medium',
    explanation: 'Force-pushes (to a branch that is not protected).',
    phrase: 'force-pushes',
  },
  push_protected_branch: {
    level: 'medium',
    explanation: 'Pushes directly to a protected branch.',
    phrase: 'pushes to a protected branch',
  },
  production_target: {
    level: 'high',
    explanation: 'The target, environment, host or branch is production.',
    phrase: 'targets production',
  },
  deploy: {
    level: 'medium',
    explanation: 'Deploys (to an environment that is not production).',
    phrase: 'deploys',
  },
  preview_deploy: {
    level: 'low',
    explanation: 'Deploys to a preview or development environment.',
    phrase: 'deploys a preview',
  },
  scale_to_zero: {
    level: 'medium',
    explanation: 'Scales a service that is not in production down to zero.',
    phrase: 'scales a service to zero',
  },
  schema_drop: {
    level: 'high',
    explanation: 'Drops or truncates tables, columns, views or indexes.',
    phrase: 'drops tables or columns',
  },
  unbounded_delete: {
    level: 'high',
    explanation: 'Deletes every row (DELETE without WHERE, WHERE 1=1, TRUNCATE, deleteMany({})).',
    phrase: 'deletes every row',
  },
  unbounded_update: {
    level: 'high',
    explanation: 'Updates every row (UPDATE without WHERE).',
    phrase: 'updates every row',
  },
  schema_change: {
    level: 'medium',
    explanation: 'Changes the schema (CREATE, ALTER, RENAME) without dropping anything.',
    phrase: 'changes the schema',
  },
  data_modification: {
    level: 'medium',
    explanation: 'Inserts, updates or deletes specific rows.',
    phrase: 'changes data',
  },
  unrecognized_sql: {
    level: 'medium',
    explanation: 'SQL that could not be classified.',
    phrase: 'runs unrecognised SQL',
  },
  sensitive_table_read: {
    level: 'medium',
    explanation: "Reads tables that the organisation's policy marks sensitive, in production.",
    phrase: 'reads sensitive tables',
  },
  read_only_query: {
    level: 'low',
    explanation: 'Only reads data (SELECT, EXPLAIN, SHOW without INTO or data-changing functions).',
    phrase: 'reads data',
  },
  iam_admin_grant: {
    level: 'critical',
    explanation:
      'Grants owner or admin rights, a wildcard (*) permission, AdministratorAccess, root-account keys or an organisation-wide grant.',
    phrase: 'grants admin rights',
  },
  iam_change: {
    level: 'high',
    explanation: 'Changes identities, roles, grants, policies or credentials.',
    phrase: 'changes access rights',
  },
  iam_readonly: {
    level: 'medium',
    explanation: 'Grants a read-only (viewer) role outside production.',
    phrase: 'grants read-only access',
  },
  secret_in_payload: {
    level: 'high',
    explanation: 'The title, summary or payload contains a secret (it is redacted before anyone sees it).',
    phrase: 'contains a secret',
  },
  hidden_characters: {
    level: 'medium',
    explanation:
      'Contains invisible or direction-changing characters or look-alike letters (Trojan Source); high inside a command or payload. They are shown as visible escapes.',
    phrase: 'contains hidden characters',
  },
  secret_file_change: {
    level: 'high',
    explanation: 'Touches a secrets file (.env, private keys, credentials, .npmrc).',
    phrase: 'touches a secrets file',
  },
  payment_critical: {
    level: 'critical',
    explanation: 'Makes a payment at or above the critical multiple of the threshold (10× by default).',
    phrase: 'very large payment',
  },
  payment: {
    level: 'medium',
    explanation: 'Makes a payment at or under the threshold.',
    phrase: 'makes a payment',
  },
  payment_over_threshold: {
    level: 'high',
    explanation: 'Makes a payment above the threshold.',
    phrase: 'large payment',
  },
  amount_mismatch: {
    level: 'medium',
    explanation: "The amount the agent states differs from the payload's; the larger one is used.",
    phrase: 'amounts disagree',
  },
  payment_amount_unknown: {
    level: 'high',
    explanation: 'Makes a payment whose amount is not stated.',
    phrase: 'payment of unknown amount',
  },
  email_send: {
    level: 'medium',
    explanation: 'Sends email to a few recipients (or an unstated number).',
    phrase: 'sends email',
  },
  bulk_email: {
    level: 'high',
    explanation: 'Sends email to more recipients than the bulk threshold.',
    phrase: 'sends bulk email',
  },
  ci_workflow_change: {
    level: 'high',
    explanation: 'Changes CI/CD workflows, which run with repository secrets.',
    phrase: 'changes CI workflows',
  },
  auth_code_change: {
    level: 'medium',
    explanation: 'Changes authentication, session, permission or crypto code.',
    phrase: 'changes auth code',
  },
  migration_file: {
    level: 'medium',
    explanation: 'Adds or changes a database migration.',
    phrase: 'changes a migration',
  },
  lockfile_change: {
    level: 'medium',
    explanation: 'Changes a dependency lockfile.',
    phrase: 'changes the lockfile',
  },
  dependency_change: {
    level: 'medium',
    explanation: 'Changes dependency manifests or installs packages globally.',
    phrase: 'changes dependencies',
  },
  docs_or_tests_only: {
    level: 'low',
    explanation: 'Only documentation or tests change.',
    phrase: 'docs or tests only',
  },
  unverifiable_action: {
    level: 'medium',
    explanation:
      'A command, query or migration was announced without its content, so it could not be checked.',
    phrase: 'content not provided',
  },
  analysis_incomplete: {
    level: 'high',
    explanation:
      'The content could not be fully analysed within the time or size budget, so it is treated as high risk.',
    phrase: 'could not be fully analysed',
  },
  mcp_tool: {
    level: 'medium',
    explanation:
      "A tool of an MCP server (target mcp__<server>__<tool>): its effect is the server's own, so it could not be checked.",
    phrase: 'MCP tool',
  },
  mcp_tool_allowed: {
    level: 'low',
    explanation:
      "A tool of an MCP server that the organisation's policy allows (mcp_tools); what its arguments carry still counts.",
    phrase: 'allowed MCP tool',
  },
  policy_raise: {
    level: 'low',
    explanation: "The organisation's risk policy raised the level.",
    phrase: 'raised by policy',
  },
};
