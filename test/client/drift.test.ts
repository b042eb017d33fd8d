/**
 * The public client's types (@ony/client: packages/client/src/index.ts) and the server's handoff
 * schemas cannot drift:
 *
 * 1. At run time (vitest): the shapes the TypeScript compiler sees in the client's `CreateHandoffInput`
 *    and `Handoff` (every field, optional or required, nullable, enum values, nesting) must equal the
 *    shapes of the request body and the `Handoff` view in the OpenAPI document the running server
 *    publishes. A field added, removed, renamed, made optional or given a new enum value on either
 *    side fails this test.
 * 2. At type level (`npm run typecheck`): the TypeBox `Static` types of the same schemas and the
 *    client types are equal (deeply, up to `readonly`).
 *
 * The one deliberate difference: the server accepts a `risk` member in the body and drops it unread
 * (agents send one; ony derives risk itself). The client has no way to send it.
 */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { CreateHandoffInput, Handoff } from '@ony/client';
import type { CreateHandoffBody, HandoffViewSchema } from '../../src/features/handoffs/handoffs.schemas.js';
import { startTestServer, type TestServer } from '../helpers/app.js';

/** Fields the server accepts but the client deliberately lacks. */
const SERVER_ONLY_BODY_FIELDS = ['risk'];

type Shape =
  | { kind: 'string' | 'number' | 'boolean' | 'unknown' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'array'; items: Shape }
  | { kind: 'object'; props: Record<string, { optional: boolean; shape: Shape }> }
  | { kind: 'nullable'; of: Shape }
  | { kind: 'unsupported'; text: string };

// ---------------------------------------------------------------------------------------------
// The client side, as the TypeScript compiler sees it
// ---------------------------------------------------------------------------------------------

function clientShapes(names: string[]): Record<string, Shape> {
  const file = resolve(import.meta.dirname, '../../packages/client/src/index.ts');
  const program = ts.createProgram([file], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    // The two types need no Node or DOM declarations; leaving them out keeps this fast.
    types: [],
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);

  const shapeOf = (type: ts.Type, at: ts.Node): Shape => {
    if (type.isUnion()) {
      const members = type.types.filter((m) => !(m.flags & ts.TypeFlags.Undefined));
      const nonNull = members.filter((m) => !(m.flags & ts.TypeFlags.Null));
      if (nonNull.length < members.length) {
        return { kind: 'nullable', of: shapeOfMembers(nonNull, at) };
      }
      return shapeOfMembers(members, at);
    }
    if (type.flags & ts.TypeFlags.String) return { kind: 'string' };
    if (type.flags & ts.TypeFlags.Number) return { kind: 'number' };
    if (type.flags & ts.TypeFlags.Boolean) return { kind: 'boolean' };
    if (type.flags & ts.TypeFlags.Unknown) return { kind: 'unknown' };
    if (type.isStringLiteral()) return { kind: 'enum', values: [type.value] };
    const name = type.getSymbol()?.getName();
    if ((name === 'Array' || name === 'ReadonlyArray') && type.flags & ts.TypeFlags.Object) {
      const [item] = checker.getTypeArguments(type as ts.TypeReference);
      return { kind: 'array', items: shapeOf(item!, at) };
    }
    if (type.flags & ts.TypeFlags.Object) {
      const props: Record<string, { optional: boolean; shape: Shape }> = {};
      for (const p of checker.getPropertiesOfType(type)) {
        props[p.getName()] = {
          optional: (p.flags & ts.SymbolFlags.Optional) !== 0,
          shape: shapeOf(checker.getTypeOfSymbolAtLocation(p, at), at),
        };
      }
      return { kind: 'object', props };
    }
    return { kind: 'unsupported', text: checker.typeToString(type) };
  };
  const shapeOfMembers = (members: ts.Type[], at: ts.Node): Shape => {
    if (members.length === 1) return shapeOf(members[0]!, at);
    if (members.every((m) => m.flags & ts.TypeFlags.BooleanLiteral)) return { kind: 'boolean' };
    if (members.every((m) => m.isStringLiteral())) {
      return { kind: 'enum', values: members.map((m) => (m as ts.StringLiteralType).value).sort() };
    }
    return { kind: 'unsupported', text: members.map((m) => checker.typeToString(m)).join(' | ') };
  };

  const out: Record<string, Shape> = {};
  for (const name of names) {
    const symbol = exports.find((s) => s.getName() === name);
    if (symbol === undefined) throw new Error(`@ony/client exports no ${name}`);
    out[name] = shapeOf(checker.getDeclaredTypeOfSymbol(symbol), source);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The server side, as its OpenAPI document says
// ---------------------------------------------------------------------------------------------

type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

/** A literal: `{const: "x"}`, or `{enum: ["x"]}` as the OpenAPI generator writes it. */
const literalOf = (s: JsonSchema): string | undefined =>
  typeof s.const === 'string'
    ? s.const
    : s.enum?.length === 1 && typeof s.enum[0] === 'string'
      ? s.enum[0]
      : undefined;

function schemaShape(schema: JsonSchema, components: Record<string, JsonSchema>): Shape {
  if (schema.$ref !== undefined) {
    const target = components[schema.$ref.replace('#/components/schemas/', '')];
    if (target === undefined) throw new Error(`unresolved ${schema.$ref}`);
    return schemaShape(target, components);
  }
  const union = schema.anyOf;
  if (union !== undefined) {
    const nonNull = union.filter((s) => s.type !== 'null');
    const inner =
      nonNull.length === 1
        ? schemaShape(nonNull[0]!, components)
        : nonNull.every((s) => literalOf(s) !== undefined)
          ? { kind: 'enum' as const, values: nonNull.map((s) => literalOf(s)!).sort() }
          : { kind: 'unsupported' as const, text: JSON.stringify(nonNull) };
    return nonNull.length < union.length ? { kind: 'nullable', of: inner } : inner;
  }
  if (typeof schema.const === 'string') return { kind: 'enum', values: [schema.const] };
  if (schema.enum !== undefined) return { kind: 'enum', values: (schema.enum as string[]).slice().sort() };
  switch (schema.type) {
    case 'string':
      return { kind: 'string' };
    case 'number':
    case 'integer':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'array':
      return { kind: 'array', items: schemaShape(schema.items ?? {}, components) };
    case 'object': {
      const required = new Set(schema.required ?? []);
      const props: Record<string, { optional: boolean; shape: Shape }> = {};
      for (const [name, s] of Object.entries(schema.properties ?? {})) {
        props[name] = { optional: !required.has(name), shape: schemaShape(s, components) };
      }
      return { kind: 'object', props };
    }
    case undefined:
      return { kind: 'unknown' };
    default:
      return { kind: 'unsupported', text: JSON.stringify(schema) };
  }
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
        responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
      }
    >
  >;
  components: { schemas: Record<string, JsonSchema> };
}

let t: TestServer;
let doc: OpenApiDoc;
let client: Record<string, Shape>;

beforeAll(async () => {
  t = await startTestServer();
  doc = (await t.app.inject({ url: '/openapi.json' })).json<OpenApiDoc>();
  client = clientShapes(['CreateHandoffInput', 'Handoff']);
});
afterAll(async () => t?.close());

const withoutServerOnly = (shape: Shape): Shape => {
  if (shape.kind !== 'object') return shape;
  const props = { ...shape.props };
  for (const f of SERVER_ONLY_BODY_FIELDS) delete props[f];
  return { kind: 'object', props };
};

describe('client types == the OpenAPI document (run time)', () => {
  it('CreateHandoffInput is the body of POST /v1/handoffs', () => {
    const body = doc.paths['/v1/handoffs']!.post!.requestBody!.content['application/json']!.schema;
    const server = schemaShape(body, doc.components.schemas);
    expect(server.kind).toBe('object');
    expect(JSON.stringify(client.CreateHandoffInput)).not.toContain('unsupported');
    expect(client.CreateHandoffInput).toEqual(withoutServerOnly(server));
  });

  it('Handoff is the view every handoff route answers', () => {
    const view = schemaShape({ $ref: '#/components/schemas/Handoff' }, doc.components.schemas);
    expect(view.kind).toBe('object');
    expect(JSON.stringify(client.Handoff)).not.toContain('unsupported');
    expect(client.Handoff).toEqual(view);
    // The routes answer that view (not a copy of it).
    for (const [path, method, status] of [
      ['/v1/handoffs', 'post', '201'],
      ['/v1/handoffs/{id}', 'get', '200'],
      ['/v1/handoffs/{id}/cancel', 'post', '200'],
    ] as const) {
      const answer = doc.paths[path]![method]!.responses[status]!.content!['application/json']!.schema;
      expect(schemaShape(answer, doc.components.schemas), `${method} ${path}`).toEqual(view);
    }
  });

  it('the only server-only body field is documented as ignored', () => {
    const body = doc.paths['/v1/handoffs']!.post!.requestBody!.content['application/json']!.schema;
    const props = (body as { properties: Record<string, { description?: string }> }).properties;
    for (const f of SERVER_ONLY_BODY_FIELDS) expect(props[f]?.description).toMatch(/ignored/);
  });
});

// ---------------------------------------------------------------------------------------------
// Type level (checked by `tsc`, i.e. npm run typecheck): the TypeBox statics equal the client types
// ---------------------------------------------------------------------------------------------

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

describe('client types == the TypeBox statics (type level)', () => {
  it('are equal both ways', () => {
    expectTypeOf<DeepReadonly<Omit<Static<typeof CreateHandoffBody>, 'risk'>>>().toEqualTypeOf<
      DeepReadonly<CreateHandoffInput>
    >();
    expectTypeOf<DeepReadonly<Static<typeof HandoffViewSchema>>>().toEqualTypeOf<DeepReadonly<Handoff>>();
  });
});
