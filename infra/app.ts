/**
 * CDK entry point (cdk.json: `npx tsx infra/app.ts`). Synthesizes offline: no lookups.
 *
 *   npx cdk synth -c stage=dev
 *   npx cdk deploy --all -c stage=prod
 *
 * A stage's settings live in infra/stages.ts (typed, committed). Only unlocked stages (dev,
 * test) take experiments from context: removalPolicy, jwtIssuer, jwtAudience, throttleRate,
 * throttleBurst (infra/stacks/settings.ts).
 */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createCardflowStacks } from './stacks/cardflow';
import { readSettings } from './stacks/settings';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

createCardflowStacks(app, readSettings(app.node), account || region ? { ...(account ? { account } : {}), ...(region ? { region } : {}) } : undefined);

Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
