/**
 * Commands that change the running system: shutdowns and reboots, stopping services, killing
 * processes, turning off firewalls, SELinux, AppArmor and Defender, user and group changes,
 * crontab, and package managers installing globally or publishing.
 */
import { hasLong, operands } from './args.js';
import { grant, type ShellReader, type ShellReaders } from './scope.js';

const shutdown: ShellReader = ({ ev }, { out }) => {
  out.add('system_shutdown', ev);
};

/** `init 0`, `telinit 6`: runlevels that halt or reboot. */
const runlevel: ShellReader = ({ args, ev }, { out }) => {
  if (/^[06]$/.test(args[0] ?? '')) out.add('system_shutdown', ev);
};

const services: ShellReader = ({ name, args, ev }, { out }) => {
  const verb = name === 'systemctl' ? operands(args)[0] : operands(args)[1];
  const unit = name === 'systemctl' ? operands(args)[1] : operands(args)[0];
  if (/^(?:poweroff|reboot|halt|kexec|emergency|rescue)$/.test(verb ?? '')) out.add('system_shutdown', ev);
  else if (/^(?:stop|disable|mask|kill)$/.test(verb ?? '')) {
    if (
      /^(?:firewalld|ufw|apparmor|auditd|fail2ban|iptables|nftables|selinux|crowdstrike|falcon-sensor|osqueryd|wazuh-agent)/.test(
        unit ?? '',
      )
    )
      out.add('security_disable', ev);
    else out.add('system_shutdown', ev);
  }
};

/** `kill -1`, `kill 1`: every process, or init. */
const kill: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => a === '-1' || a === '1' || /^-(?:9|KILL|SIGKILL)$/.test(a)))
    out.add('process_kill', ev);
  else if (operands(args).some((a) => a === '1' || a === '-1')) out.add('process_kill', ev);
};

const killByName: ShellReader = ({ ev }, { out }) => {
  out.add('process_kill', ev);
};

const iptables: ShellReader = ({ args, flags, ev }, { out }) => {
  if (
    flags.has('F') ||
    hasLong(args, '--flush') ||
    (flags.has('P') && args.includes('ACCEPT')) ||
    flags.has('X')
  )
    out.add('security_disable', ev);
};

const nft: ShellReader = ({ args, ev }, { out }) => {
  if (args.includes('flush')) out.add('security_disable', ev);
};

const ufw: ShellReader = ({ args, ev }, { out }) => {
  if (args[0] === 'disable' || args[0] === 'reset') out.add('security_disable', ev);
};

const setenforce: ShellReader = ({ args, ev }, { out }) => {
  if (args[0] === '0' || args[0]?.toLowerCase() === 'permissive') out.add('security_disable', ev);
};

const apparmorOff: ShellReader = ({ ev }, { out }) => {
  out.add('security_disable', ev);
};

/** Windows Defender: `Set-MpPreference -DisableRealtimeMonitoring $true`. */
const defender: ShellReader = ({ args, ev }, { out }) => {
  if (args.some((a) => /^-Disable/i.test(a))) out.add('security_disable', ev);
};

const users: ShellReader = ({ name, args, ev }, { out }) => {
  if (name === 'net' && !/^(?:user|localgroup|group)$/i.test(args[0] ?? '')) return;
  grant(out, args, ev);
};

/** `crontab -r` deletes the table; `crontab file` or `crontab -` replaces it. */
const crontab: ShellReader = ({ args, flags, ev }, { out }) => {
  if (flags.has('r')) out.add('destructive_delete', ev);
  else if (operands(args).length > 0 || args.includes('-')) out.add('sensitive_path_write', ev);
};

const nodePackages: ShellReader = ({ args, flags, ev }, { out }) => {
  const verb = operands(args)[0];
  if (args.includes('--dry-run')) return;
  if (
    verb === 'config' &&
    /\b(?:strict-ssl|ssl-verify)\s+false\b|\benableStrictSsl\s+false\b/.test(args.join(' '))
  ) {
    out.add('security_disable', ev);
    return;
  }
  if (verb === 'publish' || verb === 'unpublish' || (verb === 'npm' && operands(args)[1] === 'publish'))
    out.add('package_publish', ev);
  else if (
    (verb === 'install' || verb === 'i' || verb === 'add') &&
    (flags.has('g') || hasLong(args, '--global') || operands(args).length > 1)
  )
    out.add('dependency_change', ev);
};

const publish: ShellReader = ({ name, args, ev }, { out }) => {
  const text = args.join(' ');
  if (/(?:^|\s)--dry-run\b/.test(text)) return;
  if (/^(?:add|get|require)$/.test(operands(args)[0] ?? '') && operands(args).length > 1) {
    out.add('dependency_change', ev);
    return;
  }
  if (/^(?:vsce|ovsx|goreleaser)$/.test(name) && /\b(?:publish|release)\b/.test(text)) {
    out.add('package_publish', ev);
    return;
  }
  if (/\b(?:publish|upload|push|deploy|yank)\b/.test(text)) out.add('package_publish', ev);
};

const pip: ShellReader = ({ args, ev, upstream }, { out }) => {
  if (
    args[0] === 'install' &&
    !args.includes('-r') &&
    !args.includes('--user') &&
    (upstream !== undefined || args.includes('--break-system-packages'))
  )
    out.add('dependency_change', ev);
};

/** Turning off TLS verification or the Windows firewall. */
const securityConfig: ShellReader = ({ name, args, ev }, { out }) => {
  const text = args.join(' ').toLowerCase();
  if (name === 'netsh' && /firewall\b.*\bstate\s+off\b|\bopmode\s+disable\b/.test(text))
    out.add('security_disable', ev);
};

const bfg: ShellReader = ({ ev }, { out }) => out.add('history_rewrite', ev);

/** PowerShell's execution policy: Bypass/Unrestricted turns the control off, RemoteSigned loosens it. */
const executionPolicy: ShellReader = ({ args, ev }, { out }) => {
  const text = args.join(' ');
  if (/\b(?:Bypass|Unrestricted)\b/i.test(text)) out.add('security_disable', ev);
  else if (/\bRemoteSigned\b/i.test(text)) out.add('insecure_permissions', ev);
};

export const SYSTEM_READERS: ShellReaders = [
  [['set-executionpolicy'], executionPolicy],
  [['netsh'], securityConfig],
  [['bfg'], bfg],
  [['shutdown', 'reboot', 'halt', 'poweroff', 'stop-computer', 'restart-computer'], shutdown],
  [['init', 'telinit'], runlevel],
  [['systemctl', 'service'], services],
  [['kill'], kill],
  [['killall', 'pkill', 'killall5', 'taskkill', 'stop-process'], killByName],
  [['iptables', 'ip6tables'], iptables],
  [['nft'], nft],
  [['ufw'], ufw],
  [['setenforce'], setenforce],
  [['aa-teardown', 'aa-disable'], apparmorOff],
  [['set-mppreference'], defender],
  [
    [
      'useradd',
      'userdel',
      'usermod',
      'adduser',
      'deluser',
      'groupadd',
      'groupdel',
      'passwd',
      'chpasswd',
      'gpasswd',
      'visudo',
      'htpasswd',
      'net',
    ],
    users,
  ],
  [['crontab'], crontab],
  // bun is read as an interpreter before this table is consulted.
  [['npm', 'pnpm', 'yarn', 'bun'], nodePackages],
  [
    [
      'cargo',
      'twine',
      'gem',
      'poetry',
      'dotnet',
      'nuget',
      'mvn',
      'gradle',
      'flit',
      'hatch',
      'uv',
      'go',
      'composer',
      'bundle',
      'vsce',
      'ovsx',
      'goreleaser',
    ],
    publish,
  ],
  [['pip', 'pip3'], pip],
];
