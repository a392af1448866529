/**
 * Checks real HTTP responses against an OpenAPI 3.1 document with Ajv (JSON Schema 2020-12),
 * a validator that shares nothing with the zod schemas the document is generated from. The e2e
 * tests load the document the server SERVES and route every request through `checkedFetch`, so
 * an undeclared status, a content type the operation does not declare or a body that breaks its
 * schema fails the test that provoked it.
 *
 * Response objects are checked as closed (an object schema with properties but no
 * additionalProperties gets `unevaluatedProperties: false`): a property the document does not
 * name is a lie of omission too. Schemas that say they are open (Problem, for RFC 9457
 * extension members) stay open.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as typeof addFormatsModule;

type Json = Record<string, any>;

export interface ObservedResponse {
  method: string;
  /** Path without query string, e.g. /v1/cards/card_01… */
  path: string;
  status: number;
  contentType: string | null;
  /** The raw body text ('' when none). */
  text: string;
}

export class ContractViolation extends Error {
  constructor(
    readonly response: ObservedResponse,
    readonly problems: string[],
  ) {
    super(
      `${response.method} ${response.path} → ${response.status} breaks the OpenAPI document:\n  ${problems.join('\n  ')}\n  body: ${response.text.slice(0, 800)}`,
    );
    this.name = 'ContractViolation';
  }
}

interface Operation {
  id: string;
  pattern: RegExp;
  literals: number;
  method: string;
  pointer: string;
  responses: Json;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

const isObjectSchema = (schema: Json) => schema['type'] === 'object' || (Array.isArray(schema['type']) && schema['type'].includes('object'));

/**
 * Marks every object schema that lists properties and says nothing of others as closed. A
 * member of an allOf stays open (unevaluatedProperties sees only its own subschema); the
 * schema holding the allOf is closed instead, and components referenced from an allOf get an
 * open twin for that use.
 */
function closeObjects(doc: Json): void {
  const schemas = (doc['components']?.['schemas'] ?? {}) as Json;
  const inAllOf = new Set<string>();
  const collect = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(collect);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === 'allOf' && Array.isArray(value)) {
        for (const member of value) {
          const ref = (member as Json)['$ref'];
          if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) inAllOf.add(ref.slice('#/components/schemas/'.length));
        }
      }
      if (key !== 'example' && key !== 'examples') collect(value);
    }
  };
  collect(doc);
  for (const name of inAllOf) schemas[`${name}__open`] = structuredClone(schemas[name]);
  const walk = (node: unknown, open: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, false));
    if (!node || typeof node !== 'object') return;
    const schema = node as Json;
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'example' || key === 'examples') continue;
      if (key === 'allOf' && Array.isArray(value)) {
        for (const member of value as Json[]) {
          const ref = member['$ref'];
          if (typeof ref === 'string' && inAllOf.has(ref.slice('#/components/schemas/'.length))) member['$ref'] = `${ref}__open`;
          walk(member, true);
        }
      } else if (key === 'schemas' && schema === schemas) {
        for (const [name, component] of Object.entries(value as Json)) walk(component, name.endsWith('__open'));
      } else walk(value, false);
    }
    const says = 'additionalProperties' in schema || 'unevaluatedProperties' in schema;
    if (!open && !says && ((isObjectSchema(schema) && schema['properties']) || Array.isArray(schema['allOf']))) schema['unevaluatedProperties'] = false;
  };
  for (const [name, component] of Object.entries(schemas)) walk(component, name.endsWith('__open'));
  walk(doc['paths'] ?? {}, false);
}

export class Contract {
  private readonly ajv: Ajv2020;
  private readonly operations: Operation[];
  private readonly paths: Array<{ pattern: RegExp; methods: string[] }>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(document: Json, options: { closed?: boolean } = {}) {
    const doc = structuredClone(document);
    if (options.closed ?? true) closeObjects(doc);
    // strict: false lets OpenAPI's own keywords (example, discriminator, xml) through unvalidated.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...doc, $id: 'openapi.json' });
    this.operations = [];
    this.paths = [];
    for (const [template, item] of Object.entries((doc['paths'] ?? {}) as Json)) {
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`);
      const methods = METHODS.filter((m) => item[m]);
      this.paths.push({ pattern, methods });
      for (const method of methods) {
        const op = item[method] as Json;
        this.operations.push({
          id: op['operationId'] ?? `${method} ${template}`,
          pattern,
          literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
          method: method.toUpperCase(),
          pointer: `openapi.json#/paths/${escapePointer(template)}/${method}/responses`,
          responses: op['responses'] ?? {},
        });
      }
    }
    // Literal segments win over parameters (/v1/cards/batch before /v1/cards/{id}), as in routers.
    this.operations.sort((a, b) => b.literals - a.literals);
  }

  /** Loads the document a server serves (the thing clients generate code from). */
  static async load(baseUrl: string, fetcher: typeof fetch = fetch): Promise<Contract> {
    const response = await fetcher(`${baseUrl}/v1/openapi.json`);
    if (!response.ok) throw new Error(`GET /v1/openapi.json answered ${response.status}`);
    return new Contract((await response.json()) as Json);
  }

  operationFor(method: string, path: string): Operation | undefined {
    return this.operations.find((op) => op.method === method.toUpperCase() && op.pattern.test(path));
  }

  private validator(pointer: string): ValidateFunction {
    let fn = this.compiled.get(pointer);
    if (!fn) {
      fn = this.ajv.compile({ $ref: pointer });
      this.compiled.set(pointer, fn);
    }
    return fn;
  }

  /**
   * The problems of one response; empty when it is what the document promises. The operation
   * is found by method and path, or named (callers that invoke a handler directly know it).
   */
  problemsOf(response: ObservedResponse, operationId?: string): string[] {
    const op = operationId ? this.operations.find((o) => o.id === operationId) : this.operationFor(response.method, response.path);
    if (operationId && !op) return [`the document has no operation ${operationId}`];
    if (!op) {
      // Not an operation: the gateway must answer 404 (no such path) or 405 (no such method), as a problem.
      const pathKnown = this.paths.some((p) => p.pattern.test(response.path));
      const expected = pathKnown ? 405 : 404;
      if (response.status !== expected)
        return [`no operation ${response.method} ${response.path} in the document, so the answer must be ${expected}, not ${response.status}`];
      return this.bodyProblems('openapi.json#/components/schemas/Problem', response, 'application/problem+json');
    }
    const declared = op.responses[String(response.status)] ?? op.responses['default'];
    if (!declared) return [`status ${response.status} is not declared for ${op.id} (declared: ${Object.keys(op.responses).join(', ')})`];
    const key = op.responses[String(response.status)] ? String(response.status) : 'default';
    const content = declared['content'] as Json | undefined;
    if (!content) return response.text === '' ? [] : [`${op.id} ${response.status} declares no body, but one was sent`];
    const mediaType = (response.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (!(mediaType in content))
      return [`${op.id} ${response.status} declares ${Object.keys(content).join(', ')}, but the response is ${mediaType || 'untyped'}`];
    return this.bodyProblems(`${op.pointer}/${escapePointer(key)}/content/${escapePointer(mediaType)}/schema`, response, mediaType);
  }

  private bodyProblems(pointer: string, response: ObservedResponse, mediaType: string): string[] {
    if ((response.contentType ?? '').split(';')[0]!.trim().toLowerCase() !== mediaType) {
      return [`the response is ${response.contentType ?? 'untyped'}, not ${mediaType}`];
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      return [`the body is not JSON`];
    }
    const validate = this.validator(pointer);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
  }

  /** Throws a ContractViolation when the response breaks the document. */
  check(response: ObservedResponse, operationId?: string): void {
    const problems = this.problemsOf(response, operationId);
    if (problems.length) throw new ContractViolation(response, problems);
  }
}

/**
 * A fetch that checks every response from `baseUrl` against the contract and throws a
 * ContractViolation when it breaks it. Other URLs (webhook receivers) pass through unchecked.
 * The body is read here and handed back in a fresh Response, so callers read it as usual.
 */
export function checkedFetch(contract: Contract, baseUrl: string, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(baseUrl)) return response;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const text = await response.text();
    contract.check({ method, path: new URL(url).pathname, status: response.status, contentType: response.headers.get('content-type'), text });
    return new Response(response.status === 204 || response.status === 304 ? null : text, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * Routes every fetch to `baseUrl` in this process through the contract check until the returned
 * function is called: the e2e files install it right after starting the runtime, so the demo
 * seed, the CLI helpers and the tests' own requests are all checked.
 */
export async function enforceContract(baseUrl: string): Promise<{ contract: Contract; restore: () => void }> {
  const original = globalThis.fetch;
  const contract = await Contract.load(baseUrl, original);
  globalThis.fetch = checkedFetch(contract, baseUrl, original);
  return { contract, restore: () => void (globalThis.fetch = original) };
}
