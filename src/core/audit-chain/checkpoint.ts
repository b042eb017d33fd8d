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

export function parseVerifierKey(text: string): { name: string; publicKey: KeyObject } {
  // The name and id hold no '+'; the base64 key may, so split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new Error('verifier key must look like <name>+<hex id>+<base64 key>');
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) throw new Error('verifier key is not an Ed25519 key');
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]),
    format: 'der',
    type: 'spki',
  });
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

/** Verifies a signed checkpoint note against a key; answers what it attests, or throws why not. */
export function openCheckpoint(note: string, key: { name: string; publicKey: KeyObject }): Checkpoint {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('not a signed note: no blank line before the signatures');
  const body = note.slice(0, split + 1);
  const wantId = keyId(key.name, key.publicKey);
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l !== '');
  const ok = signatures.some((line) => {
    const m = new RegExp(`^${EM_DASH} (\\S+) ([A-Za-z0-9+/=]+)$`).exec(line);
    if (!m || m[1] !== key.name) return false;
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length !== 68 || !blob.subarray(0, 4).equals(wantId)) return false;
    return verify(null, Buffer.from(body, 'utf8'), key.publicKey, blob.subarray(4));
  });
  if (!ok) throw new Error('no valid signature by this key');
  const lines = body.split('\n');
  const origin = lines[0] ?? '';
  if (!origin.startsWith('ony/audit/')) throw new Error(`unexpected origin "${origin}"`);
  const seq = Number(lines[1]);
  const hash = Buffer.from(lines[2] ?? '', 'base64').toString('hex');
  const time = /^time (\S+)$/.exec(lines[3] ?? '');
  if (!Number.isSafeInteger(seq) || seq < 0 || hash.length !== 64 || !time)
    throw new Error('malformed checkpoint body');
  return { orgId: origin.slice('ony/audit/'.length), seq, hash, at: time[1]! };
}
