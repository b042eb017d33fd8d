/**
 * Commands that change infrastructure, clouds and hosted services: ssh (a remote command, a host
 * name), kubectl/oc, helm, terraform/pulumi/cdk/serverless, aws, gcloud, az, PaaS CLIs (fly,
 * heroku, vercel, netlify…), docker/podman, ansible, gh and vault, and the GitHub/GitLab APIs'
 * "delete this repository" through curl.
 */
import { desiredZero, hasLong, operands } from './args.js';
import { grant, type ShellReader, type ShellReaders } from './scope.js';

/** The arguments after ssh's options: the host, then the remote command. */
function afterSshOptions(args: readonly string[]): readonly string[] {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    i += /^-[bcDEeFIiJLlmOopQRSWw]$/.test(args[i]!) ? 2 : 1;
  }
  return args.slice(i);
}

const ssh: ShellReader = ({ args }, scope) => {
  const rest = afterSshOptions(args);
  if (rest.length > 0) scope.out.productionHint(rest[0]!);
  if (rest.length > 1) scope.nested(rest.slice(1).join(' '));
};

const kubectl: ShellReader = ({ args, ev, words }, scope) => {
  const { out } = scope;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (
      /^(?:-n|--namespace|--context|--cluster|-l|--selector|-f|--filename|-o|--output|-c|--container|--kubeconfig|--type|--from-literal|--from-file)$/.test(
        a,
      )
    ) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) positional.push(a);
  }
  const verb = positional[0];
  const kind = (positional[1] ?? '').toLowerCase();
  if (verb === 'delete') {
    out.add('infra_destroy', ev);
    if (
      /^(?:secrets?|roles?|rolebindings?|clusterroles?|clusterrolebindings?|serviceaccounts?|sa)$/.test(kind)
    )
      grant(out, args, ev);
  } else if (verb === 'drain' || verb === 'cordon') out.add('infra_change', ev);
  else if (verb === 'scale' && desiredZero(args, '--replicas')) out.add('scale_to_zero', ev);
  else if (
    verb === 'create' &&
    /^(?:secret|role|rolebinding|clusterrole|clusterrolebinding|serviceaccount|sa|token)$/.test(kind)
  )
    grant(out, args, ev);
  else if (verb === 'auth' || (verb === 'certificate' && positional[1] === 'approve')) grant(out, args, ev);
  else if (
    verb === 'apply' ||
    verb === 'create' ||
    verb === 'replace' ||
    verb === 'patch' ||
    verb === 'edit' ||
    verb === 'scale' ||
    verb === 'set' ||
    verb === 'annotate' ||
    verb === 'label' ||
    verb === 'taint'
  )
    out.add('infra_change', ev);
  else if (verb === 'rollout' && /^(?:restart|undo|resume)$/.test(positional[1] ?? '')) out.add('deploy', ev);
  else if (verb === 'exec' || verb === 'debug') {
    const dd = words.findIndex((w) => w.text === '--');
    if (dd !== -1)
      scope.nested(
        words
          .slice(dd + 1)
          .map((w) => w.text)
          .join(' '),
      );
  }
};

const helm: ShellReader = ({ args, ev }, { out }) => {
  const verb = operands(args)[0];
  if (verb === 'uninstall' || verb === 'delete' || verb === 'del' || verb === 'un')
    out.add('infra_destroy', ev);
  else if (verb === 'install' || verb === 'upgrade' || verb === 'rollback') out.add('deploy', ev);
};

/** Infrastructure as code: terraform, tofu, terragrunt, pulumi, cdk, serverless. */
const infraAsCode: ShellReader = ({ args, ev }, { out }) => {
  const verb = operands(args)[0];
  if (verb === 'destroy' || verb === 'remove' || args.includes('-destroy') || args.includes('--destroy'))
    out.add('infra_destroy', ev);
  else if (
    verb === 'apply' ||
    verb === 'up' ||
    verb === 'import' ||
    verb === 'deploy' ||
    verb === 'taint' ||
    (verb === 'state' && /^(?:rm|mv|push|replace-provider)$/.test(operands(args)[1] ?? ''))
  )
    out.add('infra_change', ev);
};

const aws: ShellReader = ({ args, ev }, { out }) => {
  const positional = args.filter((a, i) => !a.startsWith('-') && !/^--/.test(args[i - 1] ?? ''));
  const [service = '', op = ''] = positional;
  if (service === 's3') {
    if (op === 'rb' && args.includes('--force')) out.add('repository_delete', ev);
    else if (
      op === 'rb' ||
      (op === 'rm' && args.includes('--recursive')) ||
      (op === 'sync' && args.includes('--delete'))
    )
      out.add('destructive_delete', ev);
    else if (op === 'rm') out.add('delete_files', ev);
    // Uploading into a bucket changes what it serves.
    else if (/^(?:cp|mv|sync)$/.test(op) && /^s3:\/\//.test(positional[3] ?? ''))
      out.add('data_modification', ev);
    return;
  }
  if (
    (service === 'organizations' &&
      /^(?:close-account|delete-organization|remove-account-from-organization)$/.test(op)) ||
    (service === 's3api' && op === 'delete-bucket') ||
    (service === 'codecommit' && op === 'delete-repository') ||
    (service === 'ecr' && op === 'delete-repository' && args.includes('--force'))
  ) {
    out.add('repository_delete', ev);
    return;
  }
  if (op === 'change-resource-record-sets') {
    out.add(/\bDELETE\b/.test(args.join(' ')) ? 'infra_destroy' : 'infra_change', ev);
    return;
  }
  if (service === 'ecs' && op === 'update-service' && desiredZero(args, '--desired-count')) {
    out.add('scale_to_zero', ev);
    return;
  }
  if (
    service === 'autoscaling' &&
    /^(?:set-desired-capacity|update-auto-scaling-group)$/.test(op) &&
    (desiredZero(args, '--desired-capacity') || desiredZero(args, '--max-size'))
  ) {
    out.add('scale_to_zero', ev);
    return;
  }
  if (
    /^(?:iam|sso-admin|identitystore|organizations|sts)$/.test(service) &&
    !/^(?:get|list|describe|simulate|generate-credential-report|get-caller-identity|assume-role)/.test(op)
  ) {
    grant(out, args, ev);
    return;
  }
  if (service === 'secretsmanager' || service === 'kms' || service === 'ssm') {
    if (/^(?:schedule-key-deletion|delete-)/.test(op)) out.add('infra_destroy', ev);
    else if (/^(?:put-|create-|update-|rotate-|restore-|put-parameter)/.test(op)) grant(out, args, ev);
    return;
  }
  if (/^(?:delete-|terminate-|remove-|deregister-|purge-|batch-delete-|drop-)/.test(op)) {
    out.add(
      service === 'rds' && /^delete-db-(?:instance|cluster)$/.test(op) ? 'drop_database' : 'infra_destroy',
      ev,
    );
  } else if (
    /^(?:create-|put-|update-|modify-|attach-|detach-|run-|start-|stop-|reboot-|restore-|associate-|disassociate-|authorize-|revoke-|set-|tag-|untag-|register-|enable-|disable-|deploy|apply-|add-|replace-|reset-)/.test(
      op,
    )
  ) {
    out.add(
      /policy|role|permission|authorize-security-group|revoke-security-group/.test(op)
        ? 'iam_change'
        : 'infra_change',
      ev,
    );
  }
  if (service === 'lambda' && op === 'update-function-code') out.add('deploy', ev);
};

const gcloud: ShellReader = ({ args, ev }, { out }) => {
  const positional = args.filter((a) => !a.startsWith('-'));
  const text = positional.join(' ');
  if (
    /\b(?:add-iam-policy-binding|remove-iam-policy-binding|set-iam-policy)\b/.test(text) ||
    (positional[0] === 'iam' && !/\b(?:list|describe|get)\b/.test(text))
  ) {
    grant(out, args, ev);
  } else if (/^sql instances delete\b|^sql databases delete\b|^spanner databases delete\b/.test(text))
    out.add('drop_database', ev);
  else if (
    /^projects delete\b|^source repos delete\b|^storage buckets delete\b|^storage rm\b.*--recursive|^artifacts repositories delete\b|^resource-manager folders delete\b/.test(
      text + (args.some((a) => a === '--recursive' || a === '-r') ? ' --recursive' : ''),
    )
  )
    out.add('repository_delete', ev);
  else if (/\bdelete\b/.test(text)) out.add('infra_destroy', ev);
  else if (/\bdeploy\b/.test(text)) out.add('deploy', ev);
  else if (/\b(?:create|update|patch|set|resize|start|stop|reset|import)\b/.test(text))
    out.add('infra_change', ev);
};

const az: ShellReader = ({ args, ev }, { out }) => {
  const text = args.filter((a) => !a.startsWith('-')).join(' ');
  if (/^(?:role|ad)\b/.test(text) && /\b(?:create|delete|update|add|remove|reset)\b/.test(text))
    grant(out, args, ev);
  else if (/^keyvault (?:secret|key|certificate) (?:set|delete|purge|import)\b/.test(text))
    grant(out, args, ev);
  else if (
    /^(?:sql|cosmosdb|postgres|mysql)\b.*\bdelete\b/.test(text) &&
    /\b(?:db|database|server|flexible-server)\b/.test(text)
  )
    out.add('drop_database', ev);
  else if (/\bdelete\b/.test(text)) out.add('infra_destroy', ev);
  else if (/\bdeploy\b|\bdeployment\b/.test(text)) out.add('deploy', ev);
  else if (/\b(?:create|update|set|start|stop|restart|scale)\b/.test(text)) out.add('infra_change', ev);
};

/** Platform CLIs: doctl, fly, heroku, railway, vercel, netlify, wrangler. */
const platform: ShellReader = ({ name, args, ev }, { out }) => {
  const text = args.join(' ');
  const prod = /(?:^|\s)--prod(?:uction)?\b|\bpromote\b/.test(text);
  if (/\b(?:destroy|delete|remove|rm|apps:destroy|pg:reset)\b/.test(text)) out.add('infra_destroy', ev);
  else if (/(?:^|\s)(?:ps:scale|scale\s+count)\b/.test(text) && /(?:=|\s)0(?:\s|$)/.test(text))
    out.add('scale_to_zero', ev);
  else if (
    (name === 'vercel' || name === 'netlify') &&
    !prod &&
    /^(?:deploy)?$/.test(operands(args)[0] ?? '')
  )
    out.add('preview_deploy', ev);
  else if (/\b(?:deploy|release|promote)\b|--prod\b/.test(text)) {
    out.add('deploy', ev);
    if (prod) out.productionHint('production');
  } else if (/\b(?:secrets?|config:set|env\s+(?:add|rm))\b/.test(text)) grant(out, args, ev);
};

const docker: ShellReader = ({ args, ev, words, cmd }, scope) => {
  const { out } = scope;
  const positional = args.filter(
    (a, i) => !a.startsWith('-') && !/^(?:-H|--host|--context|-c|--config)$/.test(args[i - 1] ?? ''),
  );
  const [verb = '', sub = ''] = positional;
  if (
    verb === 'system' &&
    sub === 'prune' &&
    (args.includes('-a') || args.includes('--all') || args.includes('--volumes'))
  )
    out.add('destructive_delete', ev);
  else if (
    (verb === 'rm' || verb === 'rmi' || (verb === 'container' && sub === 'prune')) &&
    args.some((a) => /^-[a-z]*f|^--force$/.test(a))
  )
    out.add('delete_files', ev);
  else if (verb === 'volume' && (sub === 'rm' || sub === 'prune' || sub === 'remove'))
    out.add('destructive_delete', ev);
  else if (
    verb === 'push' ||
    (verb === 'image' && sub === 'push') ||
    (verb === 'buildx' && args.includes('--push'))
  )
    out.add('package_publish', ev);
  else if (verb === 'run' || verb === 'create') {
    // A privileged container with the host's root mounted, or its PIDs, is out of its sandbox.
    const hostRoot = args.some((a, i) => (a === '-v' || a === '--volume') && /^\/:/.test(args[i + 1] ?? ''));
    if (args.includes('--privileged') && (hostRoot || args.includes('--pid=host')))
      out.add('security_disable', ev);
    else if (
      args.includes('--privileged') ||
      args.some((a, i) => (a === '-v' || a === '--volume') && /^\/:/.test(args[i + 1] ?? '')) ||
      args.some((a) => /^--(?:pid|network|net)=host$/.test(a))
    ) {
      out.add('privileged_command', ev);
    }
  } else if (verb === 'exec') {
    let i = 0;
    const rest = words.slice(1);
    while (i < rest.length && rest[i]!.text !== 'exec') i++;
    i++;
    while (i < rest.length && rest[i]!.text.startsWith('-'))
      i += /^(?:-e|--env|-u|--user|-w|--workdir|--env-file)$/.test(rest[i]!.text) ? 2 : 1;
    const inner = rest.slice(i + 1);
    if (inner.length > 0) scope.analyseWords(inner, cmd);
  } else if (verb === 'compose' && sub === 'down' && (args.includes('-v') || args.includes('--volumes')))
    out.add('destructive_delete', ev);
};

const ansible: ShellReader = ({ ev }, { out }) => {
  out.add('infra_change', ev);
};

/** `curl -X DELETE` on the GitHub or GitLab API's repository or project. */
const httpDelete: ShellReader = ({ args, ev }, { out }) => {
  if (
    args.some((a) => /^(?:-X|--request)$/.test(a)) &&
    /^(?:DELETE)$/i.test(args[args.findIndex((a) => /^(?:-X|--request)$/.test(a)) + 1] ?? '')
  ) {
    // The GitHub and GitLab APIs' "delete this repository/project".
    const repo = args.some((a) =>
      /\/repos\/[^/\s]+\/[^/\s?]+\/?(?:\?|$)|\/api\/v4\/(?:projects|groups)\/[^/\s?]+\/?(?:\?|$)/.test(a),
    );
    out.add(repo ? 'repository_delete' : 'data_modification', ev);
  }
};

const gh: ShellReader = ({ args, ev }, { out }) => {
  if (args[0] === 'api') {
    const i = args.findIndex((a) => a === '-X' || a === '--method');
    const method = (i !== -1 ? args[i + 1] : args.find((a) => /^--method=/.test(a))?.slice(9)) ?? 'GET';
    const path =
      operands(args.slice(1)).find((a) => /^\/?(?:repos|orgs|user|projects|groups)\b/.test(a)) ?? '';
    if (/^DELETE$/i.test(method) && /^\/?(?:repos\/[^/]+\/[^/]+|orgs\/[^/]+|projects\/[^/]+)\/?$/.test(path))
      out.add('repository_delete', ev);
    else if (
      /^(?:PUT|POST|PATCH)$/i.test(method) &&
      /(?:memberships|collaborators|teams|permissions|members)/.test(path)
    )
      grant(out, args, ev);
    else if (/^DELETE$/i.test(method)) out.add('data_modification', ev);
    else if (/^(?:PUT|POST|PATCH)$/i.test(method)) out.add('data_modification', ev);
    return;
  }
  if (/^(?:repo|project)$/.test(args[0] ?? '') && args[1] === 'delete') out.add('repository_delete', ev);
  else if (args[0] === 'delete')
    out.add('repository_delete', ev); // hub delete owner/repo
  else if (args[0] === 'secret' && /^(?:set|delete|remove)$/.test(args[1] ?? '')) grant(out, args, ev);
  else if (args[0] === 'release' && args[1] === 'create') out.add('package_publish', ev);
  else if (args[0] === 'pr' && args[1] === 'merge') out.add('push_protected_branch', ev);
};

const vault: ShellReader = ({ args, ev }, { out }) => {
  if (
    /^(?:write|delete|kv|secrets|policy|auth|token)$/.test(args[0] ?? '') &&
    !/^(?:get|list|read)$/.test(args[1] ?? '')
  )
    grant(out, args, ev);
};

/** gsutil: bucket removal is a floor, recursive object removal bulk, `iam ch` a grant. */
const gsutil: ShellReader = ({ args, flags, ev }, { out }) => {
  const ops = operands(args);
  if (ops[0] === 'rb') out.add('repository_delete', ev);
  else if (
    ops[0] === 'rm' &&
    (flags.has('r') || flags.has('R') || hasLong(args, '--recursive') || ops.some((o) => /\*\*/.test(o)))
  )
    out.add('destructive_delete', ev);
  else if (ops[0] === 'rm') out.add('delete_files', ev);
  else if (ops[0] === 'iam' || ops[0] === 'acl') grant(out, args, ev);
};

/** firebase: a hosting channel is a preview; `deploy` is a real deploy. */
const firebase: ShellReader = ({ args, ev }, { out }) => {
  const verb = operands(args)[0] ?? '';
  if (/^hosting:channel:deploy$/.test(verb)) out.add('preview_deploy', ev);
  else if (/^(?:deploy|hosting:clone|functions:delete)$/.test(verb))
    out.add(verb === 'functions:delete' ? 'infra_destroy' : 'deploy', ev);
  else if (/^(?:projects:delete)$/.test(verb)) out.add('repository_delete', ev);
};

/** The Stripe CLI moving money: a refund, payout, transfer or charge; without --amount it is unknown. */
const stripe: ShellReader = ({ args, ev }, { out }) => {
  const [resource = '', verb = ''] = operands(args);
  if (!/^(?:refunds|payouts|transfers|charges|payment_intents|invoices|topups)$/.test(resource)) return;
  if (!/^(?:create|pay|confirm|capture)$/.test(verb)) return;
  out.add(
    args.some((a) => /^(?:--amount|-d)$/.test(a) || /^amount=/.test(a))
      ? 'payment'
      : 'payment_amount_unknown',
    ev,
  );
};

export const CLOUD_READERS: ShellReaders = [
  [['stripe'], stripe],
  [['gsutil'], gsutil],
  [['firebase'], firebase],
  [['ssh'], ssh],
  [['kubectl', 'oc'], kubectl],
  [['helm'], helm],
  [['terraform', 'tofu', 'terragrunt', 'pulumi', 'cdk', 'serverless', 'sls'], infraAsCode],
  [['aws'], aws],
  [['gcloud'], gcloud],
  [['az'], az],
  [['doctl', 'flyctl', 'fly', 'heroku', 'railway', 'vercel', 'netlify', 'wrangler'], platform],
  [['docker', 'podman', 'nerdctl'], docker],
  [['ansible', 'ansible-playbook'], ansible],
  [['curl', 'wget'], httpDelete],
  [['gh', 'glab', 'hub', 'tea'], gh],
  [['vault'], vault],
];
