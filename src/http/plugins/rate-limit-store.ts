/** @fastify/rate-limit store backed by the EphemeralStore, so every replica shares windows via Redis. */
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { EphemeralStore } from '../../state/store.js';

export function rateLimitStoreFor(store: EphemeralStore, prefix = 'rl:') {
  return class EphemeralRateLimitStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      store.hit(`${prefix}${key}`, timeWindow).then(
        (h) => callback(null, { current: h.count, ttl: h.resetMs }),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }
    child(routeOptions: { path: string; prefix: string }): FastifyRateLimitStore {
      const Child = rateLimitStoreFor(store, `${prefix}${routeOptions.prefix}${routeOptions.path}:`);
      return new Child();
    }
  };
}
