/**
 * Every deployment stage's settings, committed and typed. `cdk synth -c stage=<name>` reads its
 * stage from here and nothing else decides its authorizer, throttles, retention, removal policy,
 * CORS origins, alarm e-mail or domain: the same command gives the same template every time.
 *
 * Every key is required, so leaving a value out is a mistake rather than a default: where "none"
 * is a valid choice it is said explicitly (`alarmEmail: null`, `domain: null`, `corsOrigins: []`).
 * The synth checks this at run time too (tsx does not type-check, and a stage could be edited
 * into an unsupported shape): infra/stacks/settings.ts parses the chosen stage with a zod schema
 * and fails naming the stage and the key. An unknown stage name fails the same way.
 *
 * Locked stages (prod) take nothing from `-c` flags but the stage name: a flag left out (or
 * added) on a routine deploy cannot swap the issuer or the throttles. Unlocked stages (dev,
 * test) accept `-c jwtIssuer/jwtAudience/throttleRate/throttleBurst/removalPolicy` for
 * experiments.
 */

/** Who signs the tokens the API accepts. */
export type StageAuth =
  /** A Cognito user pool created by the API stack (admin-created users, MFA, custom:org_id/role). */
  | { kind: 'ownPool' }
  /** An external OIDC issuer: `iss` must equal `issuer`, `aud` (or client_id) one of `audience`. */
  | { kind: 'jwt'; issuer: string; audience: readonly string[] };

/** CloudWatch Logs retention, in days (one of the values CloudWatch Logs accepts). */
export type LogRetentionDays = 1 | 3 | 5 | 7 | 14 | 30 | 60 | 90 | 120 | 150 | 180 | 365 | 400 | 545 | 731 | 1096 | 1827 | 2192 | 2557 | 2922 | 3288 | 3653;

export interface StageDomain {
  /** e.g. api.cardflow.example.com; DNS (CNAME/alias to the output RegionalDomainName) is managed outside. */
  name: string;
  /** An ACM certificate for `name`, in the stack's region. */
  certificateArn: string;
}

export interface StageConfig {
  /** prod: nothing but the stage name may come from `-c` flags. */
  locked: boolean;
  auth: StageAuth;
  /** API Gateway stage throttling: steady requests per second and burst. */
  throttle: { rateLimit: number; burstLimit: number };
  logRetentionDays: LogRetentionDays;
  /** retain: the table, user pool, queues and log groups outlive the stack. destroy: a throwaway stage. */
  removalPolicy: 'retain' | 'destroy';
  /** Browser origins allowed by the HTTP API's CORS preflight; [] = no CORS configuration at all. */
  corsOrigins: readonly string[];
  /** Subscribed to the alarm topic (the address confirms once); null = subscribe by hand. */
  alarmEmail: string | null;
  /** A custom domain for the API, or null for the execute-api URL. */
  domain: StageDomain | null;
}

export const STAGES = {
  dev: {
    locked: false,
    auth: { kind: 'ownPool' },
    throttle: { rateLimit: 100, burstLimit: 200 },
    logRetentionDays: 30,
    removalPolicy: 'retain',
    corsOrigins: [],
    alarmEmail: null,
    domain: null,
  },
  /** Prod's twin for rehearsing a release: locked like prod, smaller throttles and retention. */
  staging: {
    locked: true,
    auth: { kind: 'ownPool' },
    throttle: { rateLimit: 200, burstLimit: 400 },
    logRetentionDays: 90,
    removalPolicy: 'retain',
    corsOrigins: [],
    alarmEmail: null,
    domain: null,
  },
  /** Short-lived stacks (CI, previews): deletable with everything in them. */
  test: {
    locked: false,
    auth: { kind: 'ownPool' },
    throttle: { rateLimit: 50, burstLimit: 100 },
    logRetentionDays: 7,
    removalPolicy: 'destroy',
    corsOrigins: [],
    alarmEmail: null,
    domain: null,
  },
  /**
   * Production trusts its own user pool: no external issuer is known to this repository. To
   * move to an external issuer, replace auth with { kind: 'jwt', issuer, audience } here: a
   * reviewed change to this file, never a deploy flag (tokens of the other issuer stop working).
   */
  prod: {
    locked: true,
    auth: { kind: 'ownPool' },
    throttle: { rateLimit: 500, burstLimit: 1000 },
    logRetentionDays: 365,
    removalPolicy: 'retain',
    corsOrigins: [],
    alarmEmail: null,
    domain: null,
  },
} as const satisfies Record<string, StageConfig>;

export type StageName = keyof typeof STAGES;
export const DEFAULT_STAGE: StageName = 'dev';
