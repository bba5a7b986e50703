// A response body read page by page, so that an export of any length streams in constant memory:
// `next` answers the next page's text, or undefined after the last.
export function pagedBody(next: () => Promise<string | undefined>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const text = await next();
      if (text === undefined) controller.close();
      else controller.enqueue(encoder.encode(text));
    },
  });
}
