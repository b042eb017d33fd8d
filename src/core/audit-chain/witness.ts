/**
 * Witnesses (docs/audit.md, "Witnesses"): when a chain head is due for a signed checkpoint, and
 * where a witness bucket or directory keeps each one. Pure: `now` is an argument.
 */

/** An org's chain head beside its latest signed checkpoint. */
export interface CheckpointStatus {
  readonly headSeq: number;
  /** null: the chain was never checkpointed. */
  readonly checkpointSeq: number | null;
  readonly checkpointAt: Date | null;
}

export interface CheckpointRule {
  /** Sign once the head moved this many entries past the last checkpoint; 0: off. */
  readonly every: number;
  /** Sign a moved head whose last checkpoint is at least this old (ms); 0: off. */
  readonly intervalMs: number;
}

/**
 * Whether to sign the head now: only a head that moved, and then when it moved `every` entries, or
 * when the last checkpoint is `intervalMs` old (a chain never checkpointed counts as old).
 */
export function checkpointDue(s: CheckpointStatus, now: Date, rule: CheckpointRule): boolean {
  const last = s.checkpointSeq ?? 0;
  if (s.headSeq <= last) return false;
  if (rule.every > 0 && s.headSeq - last >= rule.every) return true;
  if (rule.intervalMs <= 0) return false;
  return s.checkpointAt === null || now.getTime() - s.checkpointAt.getTime() >= rule.intervalMs;
}

/** Checkpoint files are named by seq, zero-padded to this width so a listing sorts by seq. */
const SEQ_WIDTH = 12;

/** `<prefix><org id>/<seq, 12 digits>.checkpoint`: one object per checkpoint, never overwritten. */
export function checkpointObjectKey(prefix: string, orgId: string, seq: number): string {
  return `${prefix}${orgId}/${String(seq).padStart(SEQ_WIDTH, '0')}.checkpoint`;
}

/** `<prefix><org id>/latest.checkpoint`: the newest checkpoint, overwritten by each newer one. */
export function latestObjectKey(prefix: string, orgId: string): string {
  return `${prefix}${orgId}/latest.checkpoint`;
}

/** The file name of a checkpoint in a witness directory or bucket (`latest.checkpoint` included). */
export const CHECKPOINT_FILE = /^(?:\d+|latest)\.checkpoint$/;
