/**
 * Builds the cardflow stacks the way infra/app.ts does, without bundling (no esbuild run, no
 * Docker), and small readers over the synthesized templates.
 */
import { readFileSync } from 'node:fs';
import { App, Aspects } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createCardflowStacks, type CardflowStacks } from '../../infra/stacks/cardflow';
import { readSettings } from '../../infra/stacks/settings';

/** cdk.json's context: the feature flags a deploy runs with, so the tests synthesize what ships. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context ?? {};

export function buildStacks(
  context: Record<string, unknown> = {},
  options: { nag?: boolean /** A stage file other than infra/stages.ts. */; stages?: Record<string, unknown> } = {},
): CardflowStacks {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const stacks = createCardflowStacks(app, readSettings(app.node, options.stages));
  if (options.nag) Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return stacks;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  Metadata?: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export function resourcesOf(template: Template, type?: string): Record<string, CfnResource> {
  const all = template.toJSON().Resources as Record<string, CfnResource>;
  if (!type) return all;
  return Object.fromEntries(Object.entries(all).filter(([, r]) => r.Type === type));
}

export function onlyResource(template: Template, type: string): [string, CfnResource] {
  const entries = Object.entries(resourcesOf(template, type));
  if (entries.length !== 1) throw new Error(`Expected one ${type}, found ${entries.length}`);
  return entries[0]!;
}

/** The template's alarms on `metric` whose first dimension is `value` (a Ref or GetAtt). */
export function alarmsOn(template: Template, metric: string, value: unknown): Array<Record<string, any>> {
  return Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))
    .map((a) => a.Properties!)
    .filter((a) => a['MetricName'] === metric && JSON.stringify(a['Dimensions']?.[0]?.Value) === JSON.stringify(value));
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export const actionsOf = (s: Statement): string[] => asArray(s.Action);

/** Every statement of every identity policy in the template: inline policies, role policies, managed policies. */
export function allStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const r of Object.values(resourcesOf(template))) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      statements.push(...asArray<Statement>(r.Properties?.PolicyDocument?.Statement));
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of asArray<any>(r.Properties?.Policies)) statements.push(...asArray<Statement>(p.PolicyDocument?.Statement));
    }
  }
  return statements;
}

/** The statements of the policies attached to one role (by logical id). */
export function statementsForRole(template: Template, roleLogicalId: string): Statement[] {
  const statements: Statement[] = [];
  for (const r of Object.values(resourcesOf(template))) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = asArray<any>(r.Properties?.Roles);
    if (roles.some((ref) => ref?.Ref === roleLogicalId)) {
      statements.push(...asArray<Statement>(r.Properties?.PolicyDocument?.Statement));
    }
  }
  const role = resourcesOf(template)[roleLogicalId];
  for (const p of asArray<any>(role?.Properties?.Policies)) statements.push(...asArray<Statement>(p.PolicyDocument?.Statement));
  return statements;
}

/** Does an IAM action pattern (with * and ? wildcards, case-insensitive) grant `action`? */
export function grants(pattern: string, action: string): boolean {
  const regex = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
  return regex.test(action);
}
