// Smoke test: the real npm `openai` and `@anthropic-ai/sdk` clients against fake_llm.py.
//
// The clients are resolved from the current directory's node_modules (they are not
// vendored in this repo), so run it from a scratch dir where they are installed:
//
//   mkdir -p /tmp/fakellm-node && cd /tmp/fakellm-node && npm init -y >/dev/null
//   npm install openai@6 @anthropic-ai/sdk
//   node /path/to/tests/fake-llm/smoke.mjs              # spawns the fake server itself
//   FAKE_LLM_URL=http://127.0.0.1:PORT node .../smoke.mjs   # or uses a running one
//
// Prints one line per check and a closing "N passed, M failed"; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const requireFromCwd = createRequire(path.join(process.cwd(), 'noop.js'));

async function load(name, exportName) {
  const mod = await import(pathToFileURL(requireFromCwd.resolve(name)).href);
  return mod[exportName] ?? mod.default?.[exportName] ?? mod.default;
}

async function startServer() {
  if (process.env.FAKE_LLM_URL) return { url: process.env.FAKE_LLM_URL, stop: () => {} };
  const child = spawn(process.env.PYTHON ?? 'python3',
    [path.join(here, 'fake_llm.py'), '--port', '0', '--exit-on-stdin-eof'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    new Promise((resolve) => lines.once('line', (l) => resolve([l]))),
    new Promise((_, reject) => child.once('exit', (c) => reject(new Error(`fake_llm exited ${c}`)))),
  ]);
  const match = /^READY (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
  if (!match) throw new Error(`unexpected first line: ${line}`);
  return { url: match[1], stop: () => child.stdin.end() };
}

const HELLO = 'Hello there';
const REPLY = 'This is a fake reply. You said: Hello there';
const WEATHER_PARAMS = {
  type: 'object', properties: { city: { type: 'string' } }, required: ['city'],
};
const user = (text) => [{ role: 'user', content: text }];

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}
function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

const OpenAI = await load('openai', 'OpenAI');
const Anthropic = await load('@anthropic-ai/sdk', 'Anthropic');
const server = await startServer();
const oa = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-fake', maxRetries: 0 });
const an = new Anthropic({ baseURL: server.url, apiKey: 'sk-ant-fake', maxRetries: 0 });

try {
  await check('openai chat JSON', async () => {
    const r = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: user(HELLO) });
    eq(r.model, 'gpt-4o-mini-2024-07-18', 'model');
    eq(r.choices[0].message.content, REPLY, 'content');
    eq([r.usage.prompt_tokens, r.usage.completion_tokens], [3, 11], 'usage');
    eq(r.usage.prompt_tokens_details.cached_tokens, 0, 'cached');
  });

  await check('openai chat stream + include_usage', async () => {
    const stream = await oa.chat.completions.create({
      model: 'gpt-4o-mini', messages: user(HELLO), stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    eq(text, REPLY, 'text');
    eq(usage.total_tokens, 14, 'total_tokens');
  });

  await check('openai chat stream tool-call deltas', async () => {
    const stream = await oa.chat.completions.create({
      model: 'gpt-4o-mini', messages: user("What's the weather in Paris?"), stream: true,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMS } }],
    });
    let args = '';
    let deltas = 0;
    let finish = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta?.tool_calls?.[0];
      if (call?.function?.arguments) { args += call.function.arguments; deltas += 1; }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    eq(JSON.parse(args), { city: 'Paris' }, 'arguments');
    eq(deltas > 1, true, 'several argument deltas');
    eq(finish, 'tool_calls', 'finish_reason');
  });

  await check('openai responses JSON + stream', async () => {
    const r = await oa.responses.create({ model: 'gpt-4.1', input: HELLO });
    eq(r.output_text, REPLY, 'output_text');
    eq([r.usage.input_tokens, r.usage.output_tokens], [3, 11], 'usage');
    const types = [];
    let text = '';
    for await (const ev of await oa.responses.create({ model: 'gpt-4.1', input: HELLO, stream: true })) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    eq(text, REPLY, 'streamed text');
    eq([types[0], types.at(-1)], ['response.created', 'response.completed'], 'first/last events');
  });

  await check('openai embeddings (client default base64)', async () => {
    const r = await oa.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    eq(r.data.length, 2, 'data');
    eq(r.data[0].embedding.length, 1536, 'dims');
    eq(r.usage.prompt_tokens, 3, 'prompt_tokens');
  });

  await check('openai 429 -> RateLimitError', async () => {
    try {
      await oa.chat.completions.create({ model: 'error-429', messages: user(HELLO) });
      throw new Error('no error raised');
    } catch (err) {
      eq(err instanceof OpenAI.RateLimitError, true, 'RateLimitError');
      eq(err.status, 429, 'status');
    }
  });

  await check('anthropic messages JSON', async () => {
    const m = await an.messages.create({
      model: 'claude-haiku-4-5', max_tokens: 100, messages: user(HELLO),
    });
    eq(m.model, 'claude-haiku-4-5-20251001', 'model');
    eq(m.content[0].text, REPLY, 'text');
    eq([m.usage.input_tokens, m.usage.output_tokens], [3, 11], 'usage');
    eq(m.stop_reason, 'end_turn', 'stop_reason');
  });

  await check('anthropic raw stream + messages.stream helper', async () => {
    const raw = await an.messages.create({
      model: 'claude-haiku-4-5', max_tokens: 100, messages: user(HELLO), stream: true,
    });
    let text = '';
    const types = [];
    for await (const ev of raw) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta') text += ev.delta.text;
    }
    eq(text, REPLY, 'raw text');
    eq([types[0], types.at(-1)], ['message_start', 'message_stop'], 'first/last events');
    const final = await an.messages
      .stream({ model: 'claude-haiku-4-5', max_tokens: 100, messages: user(HELLO) })
      .finalMessage();
    eq(final.content[0].text, REPLY, 'helper text');
    eq(final.usage.output_tokens, 11, 'helper output_tokens');
  });

  await check('anthropic tool_use stream', async () => {
    const final = await an.messages.stream({
      model: 'claude-haiku-4-5', max_tokens: 200, messages: user("What's the weather in Paris?"),
      tools: [{ name: 'get_weather', input_schema: WEATHER_PARAMS }],
    }).finalMessage();
    eq(final.stop_reason, 'tool_use', 'stop_reason');
    eq(final.content[1].input, { city: 'Paris' }, 'tool input');
  });

  await check('anthropic 429 -> RateLimitError', async () => {
    try {
      await an.messages.create({ model: 'error-429', max_tokens: 10, messages: user(HELLO) });
      throw new Error('no error raised');
    } catch (err) {
      eq(err instanceof Anthropic.RateLimitError, true, 'RateLimitError');
      eq(err.status, 429, 'status');
    }
  });

  await check('headers recorded by /_fake/requests', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await oa.chat.completions.create(
      { model: 'gpt-4o-mini', messages: user(HELLO) }, { headers: { traceparent } });
    const records = await (await fetch(`${server.url}/_fake/requests`)).json();
    eq(records.at(-1).headers.traceparent, traceparent, 'traceparent');
  });
} finally {
  server.stop();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
