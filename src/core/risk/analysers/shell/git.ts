/**
 * git: pushes (to a protected branch, forced, deleting a branch), and what discards local work or
 * rewrites history (reset --hard, clean -f, checkout ., stash drop, branch -D, filter-branch).
 */
import { hasLong, operands, shortFlags } from './args.js';
import type { ShellReader, ShellReaders } from './scope.js';

const git: ShellReader = ({ args, ev }, { out, env }) => {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-'))
    i += /^-[Cc]$|^--(?:git-dir|work-tree|namespace)$/.test(args[i]!) ? 2 : 1;
  const sub = args[i];
  const rest = args.slice(i + 1);
  const flags = shortFlags(rest);
  switch (sub) {
    case 'push': {
      const force =
        flags.has('f') ||
        hasLong(rest, '--force', '--force-with-lease', '--force-if-includes') ||
        rest.includes('--mirror');
      const del = flags.has('d') || hasLong(rest, '--delete');
      const positional = operands(
        rest.filter(
          (a, k) =>
            !(
              /^(?:-o|--push-option|--repo|--receive-pack|--exec)$/.test(a) ||
              /^(?:-o|--push-option|--repo)$/.test(rest[k - 1] ?? '')
            ),
        ),
      );
      const refspecs = positional.slice(1);
      const branches: Array<{ branch: string | undefined; force: boolean; del: boolean }> = refspecs.map(
        (spec) => {
          const plus = spec.startsWith('+');
          const body = plus ? spec.slice(1) : spec;
          const colon = body.indexOf(':');
          const dst = (colon === -1 ? body : body.slice(colon + 1)).replace(/^refs\/heads\//, '');
          return {
            branch: dst === 'HEAD' || dst === '' ? env.currentBranch : dst,
            force: force || plus,
            del: del || colon === 0,
          };
        },
      );
      if (rest.includes('--mirror') || hasLong(rest, '--all'))
        branches.push({ branch: undefined, force, del: false });
      if (branches.length === 0) branches.push({ branch: env.currentBranch, force, del });
      for (const b of branches) {
        // An unknown branch might be protected: assume it is.
        const isProtected = b.branch === undefined || env.isProtectedBranch(b.branch);
        if (b.del) out.add(isProtected ? 'protected_branch_delete' : 'delete_files', ev);
        else if (b.force) out.add(isProtected ? 'force_push_protected_branch' : 'force_push', ev);
        else if (b.branch !== undefined && env.isProtectedBranch(b.branch))
          out.add('push_protected_branch', ev);
      }
      return;
    }
    case 'reset':
      if (rest.includes('--hard') || rest.includes('--merge') || rest.includes('--keep'))
        out.add('discard_local_changes', ev);
      return;
    case 'clean':
      if (flags.has('f') || hasLong(rest, '--force')) out.add('discard_local_changes', ev);
      return;
    case 'checkout':
    case 'restore':
      if (
        rest.includes('.') ||
        (rest.includes('--') && rest[rest.indexOf('--') + 1] === '.') ||
        flags.has('f') ||
        hasLong(rest, '--force')
      ) {
        if (sub === 'restore' || rest.includes('.') || flags.has('f')) out.add('discard_local_changes', ev);
      }
      return;
    case 'rm':
      out.add(flags.has('r') ? 'destructive_delete' : 'delete_files', ev);
      return;
    case 'config':
      if (/\bhttp\.sslverify\s+false\b/i.test(rest.join(' '))) out.add('security_disable', ev);
      return;
    case 'stash':
      if (rest[0] === 'drop' || rest[0] === 'clear') out.add('discard_local_changes', ev);
      return;
    case 'branch':
      if (flags.has('D') || (flags.has('d') && flags.has('f'))) out.add('discard_local_changes', ev);
      return;
    case 'filter-branch':
    case 'filter-repo':
      out.add('history_rewrite', ev);
      return;
    case 'update-ref':
      if (flags.has('d')) out.add('discard_local_changes', ev);
      return;
    default:
      return;
  }
};

export const GIT_READERS: ShellReaders = [[['git'], git]];
