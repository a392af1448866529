/**
 * Deployment settings, read once from CDK context (`-c key=value` or cdk.json). Everything
 * that differs between stages is here; the stacks take the parsed result as props.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';

export interface JwtSettings {
  /** Token issuer, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc or https://auth.example.com/ */
  issuer: string;
  /** Accepted `aud` (or `client_id`) values. */
  audience: string[];
}

export interface CardflowSettings {
  /** Stage name, prefixed to stack names: dev, staging, prod… */
  stage: string;
  /** RETAIN unless the context says `removalPolicy=destroy` (dev stacks only). */
  removalPolicy: RemovalPolicy;
  /** An external issuer; when absent the API stack creates a Cognito user pool and trusts it. */
  jwt?: JwtSettings;
  throttle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
}

export const DEFAULT_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

const STAGE = /^[a-z][a-z0-9-]{0,19}$/;
/** Stages whose data may never be destroyed with the stack. */
const PROTECTED_STAGES = new Set(['prod', 'production']);

export function readSettings(node: Node): CardflowSettings {
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

  const stage = text('stage') ?? 'dev';
  if (!STAGE.test(stage)) throw new Error(`Context stage must match ${STAGE}, got "${stage}"`);

  const removal = (text('removalPolicy') ?? 'retain').toLowerCase();
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new Error(`Context removalPolicy must be "retain" or "destroy", got "${removal}"`);
  }
  if (removal === 'destroy' && PROTECTED_STAGES.has(stage)) {
    throw new Error(`removalPolicy=destroy is refused for stage "${stage}"`);
  }

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

  return {
    stage,
    removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    ...(issuer !== undefined ? { jwt: { issuer, audience } } : {}),
    throttle: {
      rateLimit: positiveNumber('throttleRate', DEFAULT_THROTTLE.rateLimit),
      burstLimit: positiveNumber('throttleBurst', DEFAULT_THROTTLE.burstLimit),
    },
    logRetention: RetentionDays.ONE_MONTH,
  };
}
