// An OpenAI-compatible chat gateway on Express and the official `openai` SDK, in two forms:
//   MODE=naive  loops over the upstream stream and writes to the response. When the user leaves,
//               the writes are silently dropped and the loop reads (and pays for) the whole answer.
//   MODE=fixed  ties an AbortController to the client's connection: when it closes before the
//               answer is finished, the upstream request is aborted and the model stops.
// Environment: PORT, OPENAI_BASE_URL, OPENAI_API_KEY, MODE.
import express from 'express';
import OpenAI from 'openai';

const mode = process.env.MODE ?? 'fixed';
if (mode !== 'naive' && mode !== 'fixed') {
  console.error(`MODE must be "naive" or "fixed", not "${mode}"`);
  process.exit(2);
}

const client = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY,
});

// Headers passed upstream: the correlation id and the mock provider's per-request controls.
function forwardedHeaders(req) {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'x-request-id' || name.startsWith('x-tailgate-')) headers[name] = value;
  }
  return headers;
}

const app = express();
app.use(express.json({ limit: '1mb' }));

app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

app.post('/v1/chat/completions', async (req, res) => {
  const options = { headers: forwardedHeaders(req) };

  if (mode === 'fixed') {
    // 'close' fires when the response is done *or* the connection went away; only the latter
    // (not finished yet) cancels. Listen on res, not req: req's 'close' fires once the body is read.
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    options.signal = controller.signal;
  }

  try {
    const stream = await client.chat.completions.create({ ...req.body, stream: true }, options);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    // On abort the SDK's iterator ends quietly, so the fixed form leaves this loop at once.
    for await (const chunk of stream) {
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  } catch (err) {
    if (options.signal?.aborted) return; // the client left before the upstream answered
    console.error(`upstream error: ${err.message}`);
    if (!res.headersSent) {
      res.status(502).json({ error: { message: err.message, type: 'upstream_error' } });
    } else {
      res.end(`data: ${JSON.stringify({ error: { message: err.message } })}\n\n`);
    }
  }
});

const port = Number(process.env.PORT ?? 8080);
app.listen(port, '127.0.0.1', () => console.log(`node-openai gateway (${mode}) on 127.0.0.1:${port}`));
