/**
 * Reading an HTTP answer of a primary that may not behave: never more than a bound, whatever it
 * sends (a replica must not buffer an endless answer).
 */

/**
 * Read `res`'s body, at most `max` bytes, handing each chunk to `take`; a longer body is
 * cancelled (the connection dropped) and rejects. Errors: plain Errors (the caller logs them).
 */
export async function readBounded(res: Response, max: number, take: (chunk: Uint8Array) => void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    bytes += value.length;
    if (bytes > max) {
      await reader.cancel().catch(() => {});
      throw new Error(`answer longer than ${max} bytes: dropped`);
    }
    take(value);
  }
}

