/**
 * A fake OpenAI-compatible model server: a real HTTP server on 127.0.0.1 speaking the chat
 * completions protocol as the OpenAI API reference describes it (`POST /v1/chat/completions`,
 * JSON `{model, messages: [{role, content}], ...}`, `Authorization: Bearer <key>`; the reply
 * `{id, object: "chat.completion", created, model, choices: [{index, message: {role: "assistant",
 * content}, finish_reason}], usage}`; errors as `{error: {message, type, param, code}}`), with two
 * checks the real API makes: a wrong or missing key answers 401 (when the fake has a key), and
 * JSON mode (`response_format: {type: "json_object"}`) answers 400 unless a message mentions JSON.
 *
 * It records every request (headers, raw body, parsed body, the status it answered) and replies as
 * the test scripts it: `reply(fn)` maps each request to a reply: content, an HTTP error, a raw
 * (garbage) body, a delay, or no answer at all (`hang`, until the client gives up).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequestMessage {
  readonly role: string;
  readonly content: string;
}

export interface RecordedModelRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names, as received. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body exactly as received. */
  readonly raw: string;
  /** The parsed JSON body, when it parsed. */
  readonly body: Readonly<Record<string, unknown>> | undefined;
  /** `body.messages`, when well-formed. */
  readonly messages: readonly ChatRequestMessage[];
  /** What the fake answered (0 while a `hang` is pending or when the client went away). */
  status: number;
}

export type ModelReply =
  /** A normal completion whose message content is `content`. */
  | { readonly content: string; readonly finishReason?: string; readonly delayMs?: number }
  /** An API error: `status` with an OpenAI-style error body. */
  | { readonly status: number; readonly message?: string; readonly delayMs?: number }
  /** Any bytes at all (garbage, HTML, a wrong shape), with a status (default 200). */
  | {
      readonly raw: string;
      readonly status?: number;
      readonly contentType?: string;
      readonly delayMs?: number;
    }
  /** Never answer; the socket stays open until the client aborts or the fake closes. */
  | { readonly hang: true }
  /** Send 200 and the start of a body, then nothing more (a model that stalls mid-reply). */
  | { readonly stall: string };

export type ModelScript = (request: RecordedModelRequest) => ModelReply;

export interface FakeModelOptions {
  /** When set, every request must carry `Authorization: Bearer <apiKey>` (401 otherwise). */
  readonly apiKey?: string;
}

export interface FakeModel {
  /** The API base to configure (`http://127.0.0.1:<port>/v1`), as for OpenAI's https://api.openai.com/v1. */
  readonly url: string;
  /** Every request received, in order (including the refused ones). */
  readonly requests: RecordedModelRequest[];
  /** Requests that reached the chat completions endpoint with a valid key. */
  completions(): RecordedModelRequest[];
  /** Sets how the fake answers from now on. */
  reply(script: ModelScript): void;
  close(): Promise<void>;
}

/** The default script: a JSON-mode request gets `{"intent": "unclear"}`, any other "I don't know." */
export const defaultModelScript: ModelScript = (req) =>
  isJsonMode(req.body) ? { content: '{"intent": "unclear"}' } : { content: "I don't know." };

function isJsonMode(body: Readonly<Record<string, unknown>> | undefined): boolean {
  const format = body?.response_format as { type?: unknown } | undefined;
  return format?.type === 'json_object';
}

function errorBody(message: string, type: string, param: string | null, code: string | null) {
  return JSON.stringify({ error: { message, type, param, code } });
}

function parseMessages(
  body: Readonly<Record<string, unknown>> | undefined,
): ChatRequestMessage[] | undefined {
  const messages = body?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const out: ChatRequestMessage[] = [];
  for (const m of messages as unknown[]) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !['system', 'developer', 'user', 'assistant'].includes(role))
      return undefined;
    if (typeof content !== 'string') return undefined;
    out.push({ role, content });
  }
  return out;
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const requests: RecordedModelRequest[] = [];
  let script: ModelScript = defaultModelScript;
  let nextId = 1;
  const timers = new Set<NodeJS.Timeout>();

  function send(res: ServerResponse, rec: RecordedModelRequest, status: number, body: string, type: string) {
    rec.status = status;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function later(res: ServerResponse, delayMs: number | undefined, fn: () => void): void {
    if (delayMs === undefined || delayMs <= 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) fn();
    }, delayMs);
    timers.add(timer);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = raw === '' ? undefined : JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const messages = parseMessages(body);
    const rec: RecordedModelRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      raw,
      body,
      messages: messages ?? [],
      status: 0,
    };
    requests.push(rec);
    const json = 'application/json';

    if (options.apiKey !== undefined) {
      const auth = req.headers.authorization;
      if (auth === undefined)
        return send(
          res,
          rec,
          401,
          errorBody(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            'invalid_request_error',
            null,
            null,
          ),
          json,
        );
      if (auth !== `Bearer ${options.apiKey}`)
        return send(
          res,
          rec,
          401,
          errorBody('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key'),
          json,
        );
    }
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/v1/chat/completions')
      return send(
        res,
        rec,
        404,
        errorBody(`Invalid URL (${req.method} ${req.url})`, 'invalid_request_error', null, null),
        json,
      );
    if (!(req.headers['content-type'] ?? '').startsWith('application/json') || body === undefined)
      return send(
        res,
        rec,
        400,
        errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null, null),
        json,
      );
    if (typeof body.model !== 'string' || body.model === '')
      return send(
        res,
        rec,
        400,
        errorBody('you must provide a model parameter', 'invalid_request_error', null, null),
        json,
      );
    if (messages === undefined)
      return send(
        res,
        rec,
        400,
        errorBody("Invalid value for 'messages'.", 'invalid_request_error', 'messages', null),
        json,
      );
    if (isJsonMode(body) && !messages.some((m) => /json/i.test(m.content)))
      return send(
        res,
        rec,
        400,
        errorBody(
          "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
          'invalid_request_error',
          'messages',
          null,
        ),
        json,
      );

    const reply = script(rec);
    if ('hang' in reply) return;
    if ('stall' in reply) {
      rec.status = 200;
      res.writeHead(200, { 'content-type': json });
      res.write(reply.stall);
      return;
    }
    if ('raw' in reply)
      return later(res, reply.delayMs, () =>
        send(res, rec, reply.status ?? 200, reply.raw, reply.contentType ?? json),
      );
    if ('status' in reply)
      return later(res, reply.delayMs, () =>
        send(
          res,
          rec,
          reply.status,
          errorBody(
            reply.message ?? 'The server had an error while processing your request.',
            reply.status >= 500 ? 'server_error' : 'invalid_request_error',
            null,
            null,
          ),
          json,
        ),
      );
    const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
    const completion = {
      id: `chatcmpl-fake${nextId++}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.content, refusal: null },
          logprobs: null,
          finish_reason: reply.finishReason ?? 'stop',
        },
      ],
      usage: {
        prompt_tokens: Math.ceil(promptChars / 4),
        completion_tokens: Math.ceil(reply.content.length / 4),
        total_tokens: Math.ceil(promptChars / 4) + Math.ceil(reply.content.length / 4),
      },
    };
    later(res, reply.delayMs, () => send(res, rec, 200, JSON.stringify(completion), json));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

  return {
    url,
    requests,
    completions: () =>
      requests.filter((r) => r.path.split('?')[0] === '/v1/chat/completions' && r.status !== 401),
    reply(next) {
      script = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
