/**
 * Route schemas compiled on a route's first use instead of at start-up. Fastify compiles every
 * route's validators (ajv) and response serializers (fast-json-stringify) before it listens: about
 * 0.7 s of CPU of a 3.6 s restart (`npm run bench startup`, profiled). Fastify's own compilers do the
 * work, with the same options and shared schemas; only the moment moves, to the first request of
 * each route (a few milliseconds, once). The schemas are static and every route is exercised by
 * the tests, so a broken one still fails there.
 */
import ValidatorSelector from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';

type Validate = ((data: unknown) => unknown) & { errors?: unknown };

function lazy<R, F extends (data: unknown) => unknown>(compile: (route: R) => F) {
  return (route: R): F => {
    let compiled: F | undefined;
    const run = ((data: unknown) => {
      compiled ??= compile(route);
      const result = compiled(data);
      // Fastify reads a validator's errors from the function it was given.
      (run as Validate).errors = (compiled as Validate).errors;
      return result;
    }) as F;
    return run;
  };
}

const buildValidator = ValidatorSelector();
const buildSerializer = SerializerSelector();

/** Fastify's `schemaController.compilersFactory`, each compiler deferred to first use. */
export const lazyCompilersFactory = {
  buildValidator: (...args: Parameters<typeof buildValidator>) => lazy(buildValidator(...args)),
  buildSerializer: (...args: Parameters<typeof buildSerializer>) => lazy(buildSerializer(...args)),
};
