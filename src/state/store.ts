import type { Logger } from '../lib/logger.js';
import { connectErrorMessage, safeUrl } from '../lib/safe-url.js';

/**
 * EphemeralStore: rate-limit windows, login throttles and (later) in-flight call state and wake-ups.
 * Losing it loses no decision and no handoff (DESIGN.md §3.10). Redis in production, memory embedded.
 */
export interface WindowHit {
  /** Hits in the current window, this one included. */
  readonly count: number;
  /** Milliseconds until the window resets. */
  readonly resetMs: number;
}

export interface EphemeralStore {
  readonly kind: 'memory' | 'redis';
  /** Counts a hit in a fixed window that starts with the first hit. */
  hit(key: string, windowMs: number): Promise<WindowHit>;
  /** Reads a window's count without counting. */
  peek(key: string): Promise<number>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only if it holds nothing: of two callers racing for it, one gets true. */
  claim(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Reads and deletes in one step: of two callers racing for a one-time value, one gets it. */
  take(key: string): Promise<string | null>;
  ping(): Promise<void>;
  /** Wake-ups: delivered to every subscriber in every replica (Redis) or this process (memory). */
  publish(channel: string, message: string): Promise<void>;
  /** Answers an unsubscribe function once the subscription is live. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** Local fan-out with a reference count per channel, so N waiters cost one upstream subscription. */
function createFanout(upstream?: {
  add(channel: string): Promise<void>;
  remove(channel: string): Promise<void>;
}) {
  const handlers = new Map<string, Set<(message: string) => void>>();
  const live = new Map<string, Promise<void>>();
  return {
    deliver(channel: string, message: string): void {
      for (const h of handlers.get(channel) ?? []) h(message);
    },
    async subscribe(channel: string, handler: (message: string) => void): Promise<() => void> {
      let set = handlers.get(channel);
      if (set === undefined) {
        set = new Set();
        handlers.set(channel, set);
        live.set(channel, upstream?.add(channel) ?? Promise.resolve());
      }
      set.add(handler);
      // Every subscriber waits until the upstream subscription is live, not only the first.
      await live.get(channel);
      return () => {
        const current = handlers.get(channel);
        if (current === undefined) return;
        current.delete(handler);
        if (current.size === 0) {
          handlers.delete(channel);
          live.delete(channel);
          void upstream?.remove(channel).catch(() => undefined);
        }
      };
    },
  };
}

export function createMemoryStore(now: () => number = Date.now): EphemeralStore {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const e = entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  // Sweep expired entries now and then so the map cannot grow without bound.
  const sweeper = setInterval(() => {
    const t = now();
    for (const [k, e] of entries) if (e.expiresAt <= t) entries.delete(k);
  }, 60_000);
  sweeper.unref();
  const fanout = createFanout();
  return {
    kind: 'memory',
    async publish(channel, message) {
      // Deliver asynchronously, as Redis would: never inside the publisher's call stack.
      setImmediate(() => fanout.deliver(channel, message));
    },
    subscribe: (channel, handler) => fanout.subscribe(channel, handler),
    async hit(key, windowMs) {
      const e = live(key);
      if (e === undefined) {
        entries.set(key, { value: '1', expiresAt: now() + windowMs });
        return { count: 1, resetMs: windowMs };
      }
      const count = Number(e.value) + 1;
      e.value = String(count);
      return { count, resetMs: e.expiresAt - now() };
    },
    async peek(key) {
      return Number(live(key)?.value ?? 0);
    },
    async get(key) {
      return live(key)?.value ?? null;
    },
    async set(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: now() + ttlMs });
    },
    async claim(key, value, ttlMs) {
      if (live(key) !== undefined) return false;
      entries.set(key, { value, expiresAt: now() + ttlMs });
      return true;
    },
    async del(key) {
      entries.delete(key);
    },
    async take(key) {
      const value = live(key)?.value ?? null;
      entries.delete(key);
      return value;
    },
    async ping() {},
    async close() {
      clearInterval(sweeper);
      entries.clear();
    },
  };
}

/**
 * Redis at REDIS_URL. Unreachable at start: one error naming Redis and its address (no password),
 * and no retry left running. Lost later: ioredis reconnects (backoff up to 2 s) for as long as it
 * takes; ping() fails meanwhile (so /readyz answers 503), and the loss and the return are logged
 * once each. Every connection has an 'error' listener: ioredis would print an unhandled one.
 */
export async function createRedisStore(
  url: string,
  prefix = 'ony:',
  logger?: Pick<Logger, 'warn' | 'info'>,
): Promise<EphemeralStore> {
  const { Redis } = await import('ioredis');
  const where = safeUrl(url);
  let connected = false;
  let lastError: Error | undefined;
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => (connected ? Math.min(times * 100, 2_000) : null),
  });
  // Each failed reconnect emits an error: log the first of an outage, not every attempt.
  redis.on('error', (err: Error) => {
    if (connected && lastError === undefined)
      logger?.warn({ redis: where, error: err.message }, 'lost the connection to Redis; reconnecting');
    lastError = err;
  });
  redis.on('ready', () => {
    if (connected && lastError !== undefined) logger?.info({ redis: where }, 'reconnected to Redis');
    lastError = undefined;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `cannot connect to Redis at ${where} (REDIS_URL): ${connectErrorMessage(lastError ?? err)}`,
    );
  }
  connected = true;
  const k = (key: string) => `${prefix}${key}`;
  // A subscribed Redis connection can do nothing else: a second one, made on first use.
  let subscriber: InstanceType<typeof Redis> | undefined;
  const fanout = createFanout({
    async add(channel) {
      if (subscriber === undefined) {
        subscriber = redis.duplicate();
        // Its errors are the main connection's (logged there); a listener keeps them handled.
        subscriber.on('error', () => undefined);
        subscriber.on('message', (ch: string, message: string) => {
          if (ch.startsWith(prefix)) fanout.deliver(ch.slice(prefix.length), message);
        });
      }
      await subscriber.subscribe(k(channel));
    },
    async remove(channel) {
      await subscriber?.unsubscribe(k(channel));
    },
  });
  return {
    kind: 'redis',
    async publish(channel, message) {
      await redis.publish(k(channel), message);
    },
    subscribe: (channel, handler) => fanout.subscribe(channel, handler),
    async hit(key, windowMs) {
      const result = await redis.multi().incr(k(key)).pexpire(k(key), windowMs, 'NX').pttl(k(key)).exec();
      if (result === null) throw new Error('redis transaction aborted');
      const [[incrErr, count], , [pttlErr, ttl]] = result as [
        [Error | null, number],
        unknown,
        [Error | null, number],
      ];
      if (incrErr || pttlErr) throw incrErr ?? pttlErr;
      return { count, resetMs: ttl > 0 ? ttl : windowMs };
    },
    async peek(key) {
      return Number((await redis.get(k(key))) ?? 0);
    },
    async get(key) {
      return redis.get(k(key));
    },
    async set(key, value, ttlMs) {
      await redis.set(k(key), value, 'PX', ttlMs);
    },
    async claim(key, value, ttlMs) {
      return (await redis.set(k(key), value, 'PX', ttlMs, 'NX')) === 'OK';
    },
    async del(key) {
      await redis.del(k(key));
    },
    async take(key) {
      return redis.getdel(k(key));
    },
    async ping() {
      // While reconnecting, fail at once rather than wait in the offline queue.
      if (redis.status !== 'ready') throw new Error(`Redis at ${where} is not connected (${redis.status})`);
      await redis.ping();
    },
    async close() {
      await Promise.all([redis.quit(), subscriber?.quit()]);
    },
  };
}
