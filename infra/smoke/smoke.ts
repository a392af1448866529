/**
 * `npm run smoke -- --url <api> --token <token> [--timeout 60]`: a short walk through a deployed
 * stage (or `npm start`), stopping at the first failure with a message that names the step.
 *
 * health → two pipes (parent, child) → a parent card → a connection whose field map syncs
 * Priority → a child created from the parent (auto-filled) → the parent's Priority changed →
 * the child follows through the table's stream (polled until the timeout) → cleanup of
 * everything it created, also after a failure. Exit code 0 only when every step passed.
 */
import { parseArgs } from 'node:util';

export class SmokeFailure extends Error {
  override name = 'SmokeFailure';
}

export interface SmokeOptions {
  url: string;
  token: string;
  /** How long the synced value may take to reach the child. */
  syncTimeoutMs?: number;
  log?: (line: string) => void;
}

interface Reply {
  status: number;
  body: any;
}

export async function runSmoke({ url, token, syncTimeoutMs = 60_000, log = console.log }: SmokeOptions): Promise<void> {
  const api = `${url.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1`;
  const stamp = new Date().toISOString();
  const cleanup: Array<{ what: string; path: string }> = [];

  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    let res: Response;
    try {
      res = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new SmokeFailure(`${method} ${api}${path}: no answer (${(error as Error).message})`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: kept as text for the message */
    }
    return { status: res.status, body: parsed };
  }

  async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      const out = await run();
      log(`ok   ${name} (${Date.now() - started} ms)`);
      return out;
    } catch (error) {
      log(`FAIL ${name}: ${(error as Error).message}`);
      throw error instanceof SmokeFailure ? error : new SmokeFailure(`${name}: ${(error as Error).message}`);
    }
  }

  const expect = (reply: Reply, status: number, what: string) => {
    if (reply.status !== status) {
      const detail =
        typeof reply.body === 'object' && reply.body ? (reply.body.detail ?? reply.body.message ?? JSON.stringify(reply.body)) : String(reply.body);
      throw new SmokeFailure(`${what}: expected ${status}, got ${reply.status}: ${String(detail).slice(0, 300)}`);
    }
    return reply.body;
  };

  const fieldId = (pipe: any, label: string): string => {
    const field = (pipe.startForm?.fields ?? []).find((f: any) => f.label === label);
    if (!field) throw new SmokeFailure(`pipe ${pipe.id} has no start-form field "${label}"`);
    return field.id;
  };

  try {
    await step('health', async () => expect(await call('GET', '/health'), 200, 'GET /v1/health'));

    const fields = [
      { label: 'Name', type: 'short_text', isTitle: true },
      { label: 'Priority', type: 'short_text' },
    ];
    const parentPipe = await step('create parent pipe', async () => {
      const pipe = expect(await call('POST', '/pipes', { name: `smoke parent ${stamp}`, startFormFields: fields }), 201, 'POST /v1/pipes');
      cleanup.unshift({ what: 'parent pipe', path: `/pipes/${pipe.id}` });
      return pipe;
    });
    const childPipe = await step('create child pipe', async () => {
      const pipe = expect(await call('POST', '/pipes', { name: `smoke child ${stamp}`, startFormFields: fields }), 201, 'POST /v1/pipes');
      cleanup.unshift({ what: 'child pipe', path: `/pipes/${pipe.id}` });
      return pipe;
    });
    const parentPriority = fieldId(parentPipe, 'Priority');
    const childPriority = fieldId(childPipe, 'Priority');

    const parentCard = await step('create parent card', async () => {
      const card = expect(
        await call('POST', `/pipes/${parentPipe.id}/cards`, { values: { [fieldId(parentPipe, 'Name')]: 'Smoke parent', [parentPriority]: 'Normal' } }),
        201,
        'POST /v1/pipes/{pipeId}/cards',
      );
      cleanup.unshift({ what: 'parent card', path: `/cards/${card.id}` });
      return card;
    });

    const connection = await step('create connection with a synced field', async () => {
      const conn = expect(
        await call('POST', '/connections', {
          name: `smoke ${stamp}`,
          parent: { type: 'pipe', id: parentPipe.id },
          child: { type: 'pipe', id: childPipe.id },
          entries: 'multiple',
          fieldMap: [{ childFieldId: childPriority, parentFieldId: parentPriority, sync: true }],
        }),
        201,
        'POST /v1/connections',
      );
      // Children go before the connection, the connection before the pipes.
      cleanup.splice(
        cleanup.findIndex((c) => c.what === 'child pipe'),
        0,
        { what: 'connection', path: `/connections/${conn.id}` },
      );
      return conn;
    });

    const child = await step('create a child from the parent (auto-filled)', async () => {
      const created = expect(
        await call('POST', `/cards/${parentCard.id}/children`, { connectionId: connection.id, create: {} }),
        201,
        'POST /v1/cards/{cardId}/children',
      );
      const childId: string = created.id ?? created.child?.id ?? created.childId;
      if (!childId) throw new SmokeFailure(`the child's id is not in the answer: ${JSON.stringify(created).slice(0, 200)}`);
      cleanup.unshift({ what: 'child card', path: `/cards/${childId}` });
      const got = expect(await call('GET', `/cards/${childId}`), 200, 'GET /v1/cards/{cardId} (child)');
      if (got.values?.[childPriority] !== 'Normal')
        throw new SmokeFailure(`the child's Priority is ${JSON.stringify(got.values?.[childPriority])}, not the parent's "Normal"`);
      return got;
    });

    await step('change the parent', async () =>
      expect(await call('PATCH', `/cards/${parentCard.id}`, { values: { [parentPriority]: 'Urgent' } }), 200, 'PATCH /v1/cards/{cardId} (parent)'),
    );

    await step(`the child follows through the stream (within ${Math.round(syncTimeoutMs / 1000)} s)`, async () => {
      const deadline = Date.now() + syncTimeoutMs;
      let last: unknown;
      for (let wait = 200; ; wait = Math.min(wait * 2, 2_000)) {
        const got = expect(await call('GET', `/cards/${child.id}`), 200, 'GET /v1/cards/{cardId} (child)');
        last = got.values?.[childPriority];
        if (last === 'Urgent') return;
        if (Date.now() + wait > deadline) break;
        await new Promise((r) => setTimeout(r, wait));
      }
      throw new SmokeFailure(
        `the child's Priority is still ${JSON.stringify(last)} after ${Math.round(syncTimeoutMs / 1000)} s: is the stream processor running (iterator age, errors, dead letters)?`,
      );
    });
  } finally {
    // Best effort, in reverse order of creation; the first failure above stays the exit reason.
    for (const { what, path } of cleanup) {
      const reply = await call('DELETE', path).catch((error: Error) => ({ status: 0, body: error.message }));
      if (reply.status !== 204 && reply.status !== 404)
        log(`warn cleanup of the ${what} (${path}): ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
    }
    if (cleanup.length) log(`ok   cleanup (${cleanup.length} items)`);
  }
}

async function main() {
  const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' }, timeout: { type: 'string', default: '60' } } });
  const token = values.token ?? process.env['CARDFLOW_TOKEN'];
  if (!values.url || !token) {
    console.error(
      'Usage: npm run smoke -- --url <api url> --token <admin token> [--timeout <seconds to wait for sync, default 60>]\n(the token may also come from CARDFLOW_TOKEN)',
    );
    process.exit(2);
  }
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`--timeout takes a number of seconds, not ${values.timeout}`);
    process.exit(2);
  }
  try {
    await runSmoke({ url: values.url, token, syncTimeoutMs: seconds * 1000 });
    console.log('smoke: passed');
  } catch (error) {
    console.error(`smoke: FAILED: ${(error as Error).message}`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
