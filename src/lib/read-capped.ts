/**
 * Reads a response body as UTF-8 text, up to `maxBytes`: a longer body is cancelled and answers
 * undefined, so a peer (a model API) can never make the server buffer more than the bound.
 */
export async function readCapped(res: Response, maxBytes: number): Promise<string | undefined> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
