/**
 * Deployment settings: the chosen stage's entry of the committed stage file (infra/stages.ts),
 * checked with a zod schema, plus — for unlocked stages only — overrides from CDK context
 * (`-c key=value`). The stacks take the parsed result as props.
 *
 * A locked stage (prod) takes nothing from context but the stage name: `cdk synth -c stage=prod`
 * is the whole command, and a flag that would change it (issuer, audience, throttles, removal
 * policy) fails the synth instead of being applied or silently ignored.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { z } from 'zod';
import { isOrigin } from '../../functions/api/cors';
import { DEFAULT_STAGE, STAGES } from '../stages';

export interface JwtSettings {
  /** Token issuer, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc or https://auth.example.com/ */
  issuer: string;
  /** Accepted `aud` (or `client_id`) values. */
  audience: string[];
}

export interface CardflowSettings {
  /** Stage name, prefixed to stack names: dev, staging, prod… */
  stage: string;
  /** From the stage file; an unlocked stage may say `-c removalPolicy=destroy`. */
  removalPolicy: RemovalPolicy;
  /** An external issuer; when absent the API stack creates a Cognito user pool and trusts it. */
  jwt?: JwtSettings;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
  /** Browser origins the HTTP API's CORS preflight allows; empty = no CORS configuration. */
  corsOrigins: string[];
  /** Subscribed (e-mail) to the stage's alarm topic. */
  alarmEmail?: string;
  /** Custom domain of the API. */
  domain?: { name: string; certificateArn: string };
}

/** The `dev` stage's throttles: what a stack built without settings (tests) uses. */
export const DEFAULT_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

const STAGE = /^[a-z][a-z0-9-]{0,19}$/;
/** Stages whose data may never be destroyed with the stack, whatever the stage file says. */
const PROTECTED_STAGES = new Set(['prod', 'production']);
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
/** Context keys that change a stage; refused on locked stages. */
const OVERRIDES = ['jwtIssuer', 'jwtAudience', 'throttleRate', 'throttleBurst', 'removalPolicy'] as const;

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https URL' });
const positiveInt = z.number().int().positive();

/** The run-time form of StageConfig (infra/stages.ts): every key required, nothing defaulted. */
export const stageSchema = z.strictObject({
  locked: z.boolean(),
  auth: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('ownPool') }),
    z.strictObject({ kind: z.literal('jwt'), issuer: httpsUrl, audience: z.array(z.string().min(1)).min(1) }),
  ]),
  throttle: z.strictObject({ rateLimit: positiveInt, burstLimit: positiveInt }),
  logRetentionDays: z.number().refine((d) => (RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${RETENTION_DAYS.join(', ')}`),
  removalPolicy: z.enum(['retain', 'destroy']),
  corsOrigins: z.array(z.string().refine(isOrigin, 'must be an origin: scheme://host[:port], nothing else')),
  alarmEmail: z.email().nullable(),
  domain: z
    .strictObject({
      name: z.string().regex(/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/, 'must be a lowercase DNS name'),
      certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/, 'must be an ACM certificate ARN'),
    })
    .nullable(),
});
export type ParsedStage = z.infer<typeof stageSchema>;

/** Parses one stage's entry; the error names the stage and each bad or missing key. */
export function parseStage(stage: string, config: unknown): ParsedStage {
  const result = stageSchema.safeParse(config);
  if (result.success) return result.data;
  const at = (path: readonly PropertyKey[]) =>
    path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), config);
  const problems = result.error.issues.map((i) => {
    const key = i.path.map(String).join('.') || '(the entry)';
    return i.path.length > 0 && at(i.path) === undefined ? `${key} is missing` : `${key}: ${i.message}`;
  });
  throw new Error(`Stage "${stage}" in infra/stages.ts is incomplete or invalid: ${problems.join('; ')}`);
}

export function readSettings(node: Node, stages: Readonly<Record<string, unknown>> = STAGES): CardflowSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null) return undefined;
    const s = String(value).trim();
    return s === '' ? undefined : s;
  };
  const positiveNumber = (key: string, fallback: number): number => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`Context ${key} must be a positive number, got "${raw}"`);
    return n;
  };

  const stage = text('stage') ?? DEFAULT_STAGE;
  if (!STAGE.test(stage)) throw new Error(`Context stage must match ${STAGE}, got "${stage}"`);
  if (!Object.hasOwn(stages, stage)) {
    throw new Error(`Stage "${stage}" is not in infra/stages.ts (stages: ${Object.keys(stages).join(', ')}): add its settings there`);
  }
  const config = parseStage(stage, stages[stage]);

  const given = OVERRIDES.filter((key) => text(key) !== undefined);
  if (config.locked && given.length > 0) {
    throw new Error(
      `Stage "${stage}" is locked: its settings come only from infra/stages.ts, refused context ${given.map((k) => `-c ${k}`).join(', ')}. Change the stage file instead (a reviewed change).`,
    );
  }

  const removal = (text('removalPolicy') ?? config.removalPolicy).toLowerCase();
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new Error(`Context removalPolicy must be "retain" or "destroy", got "${removal}"`);
  }
  if (removal === 'destroy' && PROTECTED_STAGES.has(stage)) {
    throw new Error(`removalPolicy=destroy is refused for stage "${stage}"`);
  }

  let jwt: JwtSettings | undefined = config.auth.kind === 'jwt' ? { issuer: config.auth.issuer, audience: [...config.auth.audience] } : undefined;
  const issuer = text('jwtIssuer');
  const audience = (text('jwtAudience') ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (issuer !== undefined && audience.length === 0) {
    throw new Error('Context jwtAudience (comma-separated) is required when jwtIssuer is set');
  }
  if (issuer === undefined && audience.length > 0) {
    throw new Error('Context jwtAudience is only used with jwtIssuer; without an issuer a Cognito user pool is created');
  }
  if (issuer !== undefined && !issuer.startsWith('https://')) {
    throw new Error(`Context jwtIssuer must be an https URL, got "${issuer}"`);
  }
  if (issuer !== undefined) jwt = { issuer, audience };

  return {
    stage,
    removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    ...(jwt ? { jwt } : {}),
    throttle: {
      rateLimit: positiveNumber('throttleRate', config.throttle.rateLimit),
      burstLimit: positiveNumber('throttleBurst', config.throttle.burstLimit),
    },
    // RetentionDays' values are the days themselves.
    logRetention: config.logRetentionDays as RetentionDays,
    corsOrigins: [...config.corsOrigins],
    ...(config.alarmEmail !== null ? { alarmEmail: config.alarmEmail } : {}),
    ...(config.domain !== null ? { domain: config.domain } : {}),
  };
}
