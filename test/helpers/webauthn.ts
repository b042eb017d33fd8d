/**
 * A software WebAuthn authenticator for API tests: real P-256 keys (node:crypto), real CBOR
 * attestation objects ("none" attestation) and real ES256 assertions over authenticatorData ||
 * SHA-256(clientDataJSON), encoded as @simplewebauthn/browser sends them. Tests can bend any part
 * (another origin, a stale counter, someone else's key) to check that the server refuses it.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** Minimal CBOR encoder: unsigned/negative integers, byte strings, text strings, maps. */
type Cbor = number | string | Buffer | Map<Cbor, Cbor>;
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}
export function cbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Buffer.isBuffer(v)) return Buffer.concat([head(2, v.length), v]);
  const parts = [head(5, v.size)];
  for (const [k, val] of v) parts.push(cbor(k), cbor(val));
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64 = (b: Buffer) => b.toString('base64url');

export interface SoftCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Buffer;
  /** The signature counter the next assertion sends (incremented after each one). */
  counter: number;
}

export interface RequestOptions {
  readonly challenge: string;
  readonly rpId?: string;
  readonly allowCredentials?: readonly { id: string }[];
}

export interface CreationOptions {
  readonly challenge: string;
  readonly rp: { readonly id?: string };
}

function coseKeyOf(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return cbor(
    new Map<Cbor, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  );
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(
    readonly origin: string,
    /** Whether the authenticator counts signatures (many passkeys send 0 forever). */
    private readonly counts = true,
  ) {}

  private authData(rpId: string, flags: number, counter: number, attested?: SoftCredential): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const parts: Buffer[] = [sha256(rpId), Buffer.from([flags]), c];
    if (attested !== undefined) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(attested.id.length);
      parts.push(Buffer.alloc(16), len, attested.id, attested.cosePublicKey);
    }
    return Buffer.concat(parts);
  }

  /** navigator.credentials.create(): a new credential and its "none" attestation. */
  create(options: CreationOptions, opts: { origin?: string } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cred: SoftCredential = {
      id: randomBytes(32),
      privateKey,
      cosePublicKey: coseKeyOf(publicKey),
      counter: this.counts ? 1 : 0,
    };
    this.credentials.push(cred);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.create',
        challenge: options.challenge,
        origin: opts.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const authData = this.authData(rpId, 0x01 | 0x04 | 0x40, 0, cred);
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      credential: cred,
      response: {
        id: b64(cred.id),
        rawId: b64(cred.id),
        type: 'public-key' as const,
        response: {
          clientDataJSON: b64(clientDataJSON),
          attestationObject: b64(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /**
   * navigator.credentials.get(): an assertion by `credential` (default: the first allowed one this
   * authenticator holds). `counter` overrides the signature counter sent (a replayed or cloned key).
   */
  get(
    options: RequestOptions,
    opts: { credential?: SoftCredential; counter?: number; origin?: string; challenge?: string } = {},
  ) {
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
    const cred =
      opts.credential ??
      this.credentials.find((c) => allowed.size === 0 || allowed.has(b64(c.id))) ??
      this.credentials[0];
    if (cred === undefined) throw new Error('the soft authenticator holds no credential');
    let counter = opts.counter;
    if (counter === undefined) {
      if (this.counts) cred.counter += 1;
      counter = cred.counter;
    }
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: opts.challenge ?? options.challenge,
        origin: opts.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const authenticatorData = this.authData(
      options.rpId ?? new URL(this.origin).hostname,
      0x01 | 0x04,
      counter,
    );
    const signature = sign(
      'sha256',
      Buffer.concat([authenticatorData, sha256(clientDataJSON)]),
      cred.privateKey,
    );
    return {
      id: b64(cred.id),
      rawId: b64(cred.id),
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64(clientDataJSON),
        authenticatorData: b64(authenticatorData),
        signature: b64(signature),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
