// The witness's HTTP face (hono): POST /add-checkpoint and GET /<origin sha256>/checkpoint of C2SP
// tlog-witness, bodies read up to a limit. It lives in cli/ because a witness is its own role, run
// by anyone: neither part of a worker nor of the coordinator it watches, and services/ opens no sockets.
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { WitnessAnswer, WitnessService } from '../../services/tlog/witness/witness-service.ts';

export function createWitnessApp(service: WitnessService, logger: Logger): Hono {
  const app = new Hono();
  const answer = (a: WitnessAnswer) =>
    new Response(a.body, {
      status: a.status,
      headers: { 'content-type': a.contentType, 'cache-control': 'no-store' },
    });

  app.post('/add-checkpoint', async (c) => {
    const body = await readBounded(c.req.raw, service.maxBodyBytes);
    if (body === undefined) {
      logger.warn({ maxBodyBytes: service.maxBodyBytes }, 'add-checkpoint body too large');
      return c.text(`the request body is over the ${service.maxBodyBytes}-byte limit\n`, 413);
    }
    const result = await service.addCheckpoint(body);
    logger[result.status === 200 ? 'info' : 'warn'](
      { status: result.status, ...result.detail },
      'add-checkpoint',
    );
    return answer(result);
  });

  app.get('/:originHash/checkpoint', async (c) =>
    answer(await service.latestCheckpoint(c.req.param('originHash'))),
  );
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((err, c) => {
    logger.error({ err }, 'witness request failed');
    return c.text('internal error\n', 500);
  });
  return app;
}

/** The body, or undefined as soon as it passes `maxBytes` (nothing more is read). */
async function readBounded(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > maxBytes) return undefined;
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
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
  return Buffer.concat(chunks);
}
