/** Pieces the admin screens share: their API types, a two-step confirm button, a shown-once secret. */
import { useId, useState, type ReactNode } from 'react';
import './admin.css';

export interface Invite {
  readonly id: string;
  readonly email: string;
  readonly role: string;
  readonly created_at: string;
  readonly expires_at: string;
}

export interface ChannelLink {
  readonly id: string;
  readonly member_id: string;
  readonly channel: string;
  readonly external_id: string;
  readonly label: string;
  readonly created_at: string;
}

export interface Device {
  readonly id: string;
  readonly name: string;
  readonly token_hint: string;
  readonly created_by: string;
  readonly created_at: string;
  readonly last_seen_at: string | null;
  readonly revoked_at: string | null;
}

export interface ChannelStatus {
  readonly name: string;
  readonly configured: boolean;
  readonly transmits: readonly string[];
  readonly health: { readonly ok: boolean; readonly detail: string } | null;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor_type: string;
  readonly actor_id: string | null;
  readonly action: string;
  readonly subject_type: string;
  readonly subject_id: string | null;
  /** Display names looked up by the server (an erased member: its pseudonym). */
  readonly actor_name: string | null;
  readonly subject_name: string | null;
  readonly subject_short_code: string | null;
  readonly meta: unknown;
  readonly hash: string;
}

export interface Checkpoint {
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly key_name: string;
  readonly note: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly entries: number;
  readonly head_seq?: number;
  readonly head_hash?: string;
  readonly bad_seq?: number;
  readonly reason?: string;
  readonly detail?: string;
  readonly checkpoints_verified: number;
  readonly latest_checkpoint: Checkpoint | null;
}

/**
 * A button that asks once more before a lasting change (no window.confirm: keyboard and screen
 * readers meet an ordinary pair of buttons).
 */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  danger = false,
  disabled = false,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  danger?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        className={danger ? 'deny' : ''}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={confirmLabel}>
      <button
        type="button"
        className={danger ? 'deny' : 'primary'}
        disabled={busy}
        autoFocus
        onClick={() => {
          setBusy(true);
          void Promise.resolve(onConfirm()).finally(() => {
            setBusy(false);
            setAsking(false);
          });
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)} disabled={busy}>
        Cancel
      </button>
    </span>
  );
}

/** A secret shown this once, read-only, with a copy button. */
export function SecretField({ label, value }: { label: string; value: string }) {
  const id = useId();
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      (document.getElementById(id) as HTMLInputElement | null)?.select();
      setCopied('Select and copy it by hand (the browser refused the clipboard).');
    }
  };
  return (
    <div className="field secret-field">
      <label htmlFor={id}>{label}</label>
      <div className="secret-row">
        <input id={id} readOnly value={value} className="mono" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      {copied !== null && (
        <small className="muted" role="status">
          {copied}
        </small>
      )}
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="admin-section" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export const shortId = (id: string | null) => (id === null ? '—' : id.slice(0, 8));
