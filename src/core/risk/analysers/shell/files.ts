/**
 * Commands that act on files and disks: deletes (rm, find -delete, shred, truncate, `… | xargs rm`),
 * disk writes and formats (dd, mkfs, fdisk, wipefs…), permission and owner changes (chmod, chown,
 * setfacl, icacls), and copies, moves and edits into sensitive places (mv, cp, tee, rsync, sed -i).
 */
import { basename, hasLong, operands } from './args.js';
import { isBuildArtifact, isDevice, isRootLike, isSensitivePath, protectedPathKind } from './paths.js';
import type { ShellReader, ShellReaders } from './scope.js';

const remove: ShellReader = ({ name, args, flags, ev, fromStdin, upstream }, scope) => {
  const { out } = scope;
  const ps = name === 'remove-item' || name === 'ri';
  const recursive =
    flags.has('r') ||
    flags.has('R') ||
    hasLong(args, '--recursive') ||
    (ps && args.some((a) => /^-r(?:ecurse)?$/i.test(a))) ||
    ((name === 'rd' || name === 'rmdir' || name === 'del' || name === 'erase') &&
      args.some((a) => /^\/s$/i.test(a)));
  const targets = operands(args)
    .filter((t) => !/^\/[sqfaSQFA]$/.test(t) && !/^-\w+$/.test(t))
    .map((t) => scope.inCwd(t));
  if (targets.some(isRootLike) && (recursive || targets.some((t) => /\*/.test(t)))) {
    out.add('recursive_delete_root', ev);
    return;
  }
  if (targets.some((t) => protectedPathKind(t) !== undefined)) {
    out.add('protected_data_delete', ev);
    return;
  }
  if (fromStdin) {
    // `ls / | xargs rm -rf`, `find / -type f | xargs rm`: the names come from a listing of the root.
    const listsRoot = upstream.some((c) => {
      const words = c.words.map((w) => scope.resolve(w));
      const program = basename(words[0] ?? '');
      if (!/^(?:ls|find|fd|du|echo|printf|tree|locate|git)$/.test(program)) return false;
      const listed = words.slice(1).filter((a) => !a.startsWith('-'));
      return listed.some((a) => isRootLike(a) || protectedPathKind(a) !== undefined);
    });
    out.add(listsRoot ? 'recursive_delete_root' : 'destructive_delete', ev);
    return;
  }
  if (targets.length > 0 && targets.every((t) => isBuildArtifact(t))) {
    out.add('build_artifacts_delete', ev);
    return;
  }
  if (name === 'rmdir' && !recursive) {
    out.add('delete_files', ev);
    return;
  }
  const wholeDirectory = targets.some(
    (t) => /^(?:\.?\/?\*|\.|\.\/|\.\.|\.\.\/|\.\*|~\/.+)$/.test(t) || /(?:^|\/)\*$/.test(t),
  );
  if (recursive || wholeDirectory || targets.length > 20) out.add('destructive_delete', ev);
  else out.add('delete_files', ev);
};

const shred: ShellReader = ({ args, ev }, { out }) => {
  const targets = operands(args);
  if (targets.some(isDevice)) out.add('disk_wipe', ev);
  else if (targets.some((t) => protectedPathKind(t) !== undefined)) out.add('protected_data_delete', ev);
  else out.add('destructive_delete', ev);
};

/** `find . -name node_modules -prune -exec rm -rf {} +`: every -name/-path names a build artefact. */
function selectsOnlyBuildArtifacts(args: readonly string[]): boolean {
  const names = args.flatMap((a, i) => (/^-(?:i?name|i?path)$/.test(a) ? [args[i + 1] ?? ''] : []));
  return names.length > 0 && names.every((n) => isBuildArtifact(n.replace(/^\*\//, '')));
}

/** Windows `format D:`: only with a drive (`FORMAT csv` in a stray SQL line is not one). */
const windowsFormat: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => /^[A-Za-z]:\\?$/.test(a) || isDevice(a))) out.add('disk_wipe', ev);
};

const find: ShellReader = ({ args, ev }, scope) => {
  const { out } = scope;
  const deletes =
    args.includes('-delete') ||
    args.some(
      (a, i) => /^-(?:exec|execdir|ok)$/.test(a) && /^(?:rm|shred|unlink)$/.test(basename(args[i + 1] ?? '')),
    );
  if (!deletes) return;
  const starts: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') || a === '(' || a === '!') break;
    starts.push(scope.inCwd(a));
  }
  if (starts.some(isRootLike)) out.add('recursive_delete_root', ev);
  else if (starts.some((t) => protectedPathKind(t) !== undefined)) out.add('protected_data_delete', ev);
  else if ((starts.length > 0 && starts.every((t) => isBuildArtifact(t))) || selectsOnlyBuildArtifacts(args))
    out.add('build_artifacts_delete', ev);
  else out.add('destructive_delete', ev);
};

const truncate: ShellReader = ({ args, ev }, { out }) => {
  out.add(
    operands(args).some((t) => protectedPathKind(t) !== undefined) ? 'protected_data_delete' : 'delete_files',
    ev,
  );
};

const dd: ShellReader = ({ args, ev }, { out }) => {
  const of = args.find((a) => a.startsWith('of='));
  if (of !== undefined && isDevice(of.slice(3))) out.add('disk_wipe', ev);
  else if (of !== undefined && isSensitivePath(of.slice(3))) out.add('sensitive_path_write', ev);
};

/** Partitioners, formatters and erasers: a disk wipe unless only listing (`fdisk -l`, `parted print`). */
const partition: ShellReader = ({ name, args, flags, ev }, { out }) => {
  if (name === 'fdisk' && (flags.has('l') || args.includes('--list'))) return;
  if (name === 'parted' && args.includes('print')) return;
  out.add('disk_wipe', ev);
};

const mkswap: ShellReader = ({ args, ev }, { out }) => {
  if (operands(args).some(isDevice)) out.add('disk_wipe', ev);
};

const cryptsetup: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => /^(?:luksFormat|erase|luksErase|reencrypt)$/.test(a))) out.add('disk_wipe', ev);
};

const diskutil: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => /^(?:eraseDisk|eraseVolume|zeroDisk|randomDisk|secureErase|partitionDisk)$/i.test(a)))
    out.add('disk_wipe', ev);
};

/** `mkfs`, `mkfs.ext4`, `newfs`, `newfs_apfs`: programs read by the shape of their name. */
export const formatFilesystem: ShellReader = ({ name, ev }, { out }) => {
  if (/^mkfs(?:\.|$)/.test(name) || /^mkfs\./.test(name) || name === 'newfs' || /^newfs_/.test(name))
    out.add('disk_wipe', ev);
};

const permissions: ShellReader = ({ name, args, flags, ev }, { out }) => {
  const recursive = flags.has('R') || hasLong(args, '--recursive') || args.some((a) => /^\/t$/i.test(a));
  const targets = operands(args).slice(name === 'chmod' || name === 'chown' || name === 'chgrp' ? 1 : 0);
  if (recursive && targets.some(isRootLike)) {
    out.add('root_permission_change', ev);
    return;
  }
  const mode = operands(args)[0] ?? '';
  if (
    name === 'chmod' &&
    (/^0?[0-7]?[0-7][0-7][2367]$/.test(mode) ||
      /(?:^|,)[ao]*\+[rwx]*w|(?:^|,)[ugoa]*\+[rwx]*s|^[4267][0-7]{3}$/.test(mode))
  ) {
    out.add('insecure_permissions', ev);
  }
  // Taking permissions away (chmod 600 ~/.ssh/id_ed25519, go-rwx) changes nothing anyone relies on.
  const tightens = name === 'chmod' && /^(?:0?[0-7]00|0?[0-7][0-5]0|[ugoa]*-[rwxst]+)$/.test(mode);
  if (!tightens && targets.some(isSensitivePath)) out.add('sensitive_path_write', ev);
};

const copy: ShellReader = ({ name, args, ev }, { out }) => {
  const targets = operands(args);
  const dest = name === 'tee' ? targets : targets.slice(-1);
  if (name === 'mv' && targets.slice(0, -1).some((t) => protectedPathKind(t) !== undefined))
    out.add('protected_data_delete', ev);
  else if (name === 'mv' && dest[0] === '/dev/null') out.add('destructive_delete', ev);
  else if (dest.some(isDevice)) out.add('disk_wipe', ev);
  else if (dest.some(isSensitivePath)) out.add('sensitive_path_write', ev);
  if (
    name === 'rsync' &&
    hasLong(args, '--delete', '--delete-before', '--delete-after', '--delete-during', '--delete-excluded')
  ) {
    out.add(dest.some(isRootLike) ? 'recursive_delete_root' : 'destructive_delete', ev);
  }
};

const editInPlace: ShellReader = ({ args, flags, ev }, { out }) => {
  if (flags.has('i') || hasLong(args, '--in-place')) {
    if (operands(args).slice(1).some(isSensitivePath)) out.add('sensitive_path_write', ev);
  }
};

export const FILE_READERS: ShellReaders = [
  [['rm', 'unlink', 'rmdir', 'del', 'erase', 'rd', 'remove-item', 'ri'], remove],
  [['shred', 'srm', 'wipe'], shred],
  [['find'], find],
  [['truncate'], truncate],
  [['dd'], dd],
  [
    [
      'wipefs',
      'fdisk',
      'sfdisk',
      'cfdisk',
      'parted',
      'sgdisk',
      'gdisk',
      'blkdiscard',
      'mke2fs',
      'diskpart',
      'clear-disk',
      'format-volume',
    ],
    partition,
  ],
  [['format'], windowsFormat],
  [['mkswap'], mkswap],
  [['cryptsetup'], cryptsetup],
  [['diskutil'], diskutil],
  [['chmod', 'chown', 'chgrp', 'setfacl', 'icacls'], permissions],
  [['mv', 'cp', 'tee', 'install', 'ln', 'rsync', 'scp'], copy],
  // perl is read as an interpreter before this table is consulted.
  [['sed', 'perl'], editInPlace],
];
