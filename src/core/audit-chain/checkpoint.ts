/**
 * Signed checkpoints of an org's chain head, in the C2SP signed-note / tlog-checkpoint text format:
 *
 *   <origin>\n            ony/audit/<org id>
 *   <size>\n              the head seq (entries 1..size are covered)
 *   <base64 head hash>\n  the chain head hash (a hash chain, not a Merkle root: see docs/audit.md)
 *   time <ISO 8601>\n     extension line: when the checkpoint was signed
 *   \n
 *   — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\n
 *
 * key id = first 4 bytes of SHA-256(key name || "\n" || 0x01 || raw public key), as signed notes define.
 * Pure: keys come in as KeyObjects, time as an argument.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const ED25519_ALG = 0x01;
const EM_DASH = '\u2014';

export interface Checkpoint {
  readonly orgId: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
}

export interface SigningKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** The raw 32-byte Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export function keyId(name: string, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(
      Buffer.concat([Buffer.from(`${name}\n`, 'utf8'), Buffer.from([ED25519_ALG]), rawPublicKey(publicKey)]),
    )
    .digest()
    .subarray(0, 4);
}

/** The verifier key string of signed notes: `<name>+<hex key id>+<base64(0x01 || public key)>`. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  return `${name}+${keyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([ED25519_ALG]), rawPublicKey(publicKey)]).toString('base64')}`;
}

/** An Ed25519 public KeyObject from its raw 32 bytes. */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]),
    format: 'der',
    type: 'spki',
  });
}

export function parseVerifierKey(text: string): { name: string; publicKey: KeyObject } {
  // The name and id hold no '+'; the base64 key may, so split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new Error('verifier key must look like <name>+<hex id>+<base64 key>');
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) throw new Error('verifier key is not an Ed25519 key');
  const publicKey = publicKeyFromRaw(raw.subarray(1));
  if (keyId(name, publicKey).toString('hex') !== idHex)
    throw new Error('verifier key id does not match its key');
  return { name, publicKey };
}

/** An Ed25519 signing key from a 32-byte seed. */
export function signingKeyFromSeed(name: string, seed: Buffer): SigningKey {
  if (seed.length !== 32) throw new Error('Ed25519 seed must be 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { name, privateKey, publicKey: createPublicKey(privateKey) };
}

export const checkpointOrigin = (orgId: string): string => `ony/audit/${orgId}`;

function noteBody(c: Checkpoint): string {
  return `${checkpointOrigin(c.orgId)}\n${c.seq}\n${Buffer.from(c.hash, 'hex').toString('base64')}\ntime ${c.at}\n`;
}

export function signCheckpoint(c: Checkpoint, key: SigningKey): string {
  const body = noteBody(c);
  const sig = sign(null, Buffer.from(body, 'utf8'), key.privateKey);
  const blob = Buffer.concat([keyId(key.name, key.publicKey), sig]).toString('base64');
  return `${body}\n${EM_DASH} ${key.name} ${blob}\n`;
}

export interface VerifierKey {
  readonly name: string;
  readonly publicKey: KeyObject;
}

/** One signature line of a note: who claims to have signed (name, key id), and the signature. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: string;
  readonly signature: Buffer;
}

/** A checkpoint note read without checking any signature: what it claims, and who claims to sign it. */
export interface ParsedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly body: string;
  readonly signatures: readonly NoteSignature[];
}

/** Reads a signed checkpoint note (its body and signature lines) without verifying; throws when malformed. */
export function parseCheckpoint(note: string): ParsedCheckpoint {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('not a signed note: no blank line before the signatures');
  const body = note.slice(0, split + 1);
  const signatures: NoteSignature[] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    if (line === '') continue;
    const m = new RegExp(`^${EM_DASH} (\\S+) ([A-Za-z0-9+/=]+)$`).exec(line);
    const blob = m ? Buffer.from(m[2]!, 'base64') : undefined;
    if (!m || blob === undefined || blob.length < 5) throw new Error('malformed signature line');
    signatures.push({ name: m[1]!, keyId: blob.subarray(0, 4).toString('hex'), signature: blob.subarray(4) });
  }
  const lines = body.split('\n');
  const origin = lines[0] ?? '';
  if (!origin.startsWith('ony/audit/')) throw new Error(`unexpected origin "${origin}"`);
  const seq = Number(lines[1]);
  const hash = Buffer.from(lines[2] ?? '', 'base64').toString('hex');
  const time = /^time (\S+)$/.exec(lines[3] ?? '');
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1] ?? '') || !Number.isSafeInteger(seq) || hash.length !== 64 || !time)
    throw new Error('malformed checkpoint body');
  return {
    checkpoint: { orgId: origin.slice('ony/audit/'.length), seq, hash, at: time[1]! },
    body,
    signatures,
  };
}

/** Whether a parsed note carries a valid signature by this key. */
export function hasValidSignature(parsed: ParsedCheckpoint, key: VerifierKey): boolean {
  const id = keyId(key.name, key.publicKey).toString('hex');
  return parsed.signatures.some(
    (s) =>
      s.name === key.name &&
      s.keyId === id &&
      s.signature.length === 64 &&
      verify(null, Buffer.from(parsed.body, 'utf8'), key.publicKey, s.signature),
  );
}

/** Verifies a signed checkpoint note against a key; answers what it attests, or throws why not. */
export function openCheckpoint(note: string, key: VerifierKey): Checkpoint {
  const parsed = parseCheckpoint(note);
  if (!hasValidSignature(parsed, key)) throw new Error('no valid signature by this key');
  return parsed.checkpoint;
}
