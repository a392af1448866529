/**
 * cdk-nag AwsSolutions on every stack (every stack createCardflowStacks returns, found, not
 * listed): no unacknowledged error or warning, the few acknowledgements there are stay scoped
 * and explained, and each stack's nag report is in the cloud assembly (proof it was checked).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App, CfnElement } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { XRAY_WRITE_ACTIONS } from '../../infra/stacks/house-function';
import { buildStacks, resourcesOf, type CfnResource } from './synth';

/** Rule id → the only resources allowed to suppress it. Anything else must be fixed, not suppressed. */
const ALLOWED_SUPPRESSIONS: Record<string, (resource: CfnResource, logicalId: string, template: Template) => boolean> = {
  // Public routes (role null in the manifest) have no authorizer by design.
  'AwsSolutions-APIG4': (r) =>
    r.Type === 'AWS::ApiGatewayV2::Route' && routeList.some((route) => route.role === null && `${route.method} ${route.path}` === r.Properties?.RouteKey),
  // Active tracing: the X-Ray write actions take no resource but "*". Only on a function role
  // whose "*" statements (inline policy XRayWrite) hold exactly those actions.
  'AwsSolutions-IAM5': (r) =>
    r.Type === 'AWS::IAM::Role' &&
    (r.Metadata?.cdk_nag?.rules_to_suppress ?? []).every(
      (s: { id: string; applies_to?: unknown[] }) => s.id !== 'AwsSolutions-IAM5' || JSON.stringify(s.applies_to) === '["Resource::*"]',
    ) &&
    ((r.Properties?.Policies ?? []) as Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } }>).every((p) =>
      p.PolicyDocument.Statement.every((st) => st.Resource !== '*' || [st.Action].flat().every((a) => (XRAY_WRITE_ACTIONS as readonly string[]).includes(a))),
    ),
  // The pagination cursor signing key: rotation would only invalidate outstanding cursors.
  'AwsSolutions-SMG4': (r) => r.Type === 'AWS::SecretsManager::Secret' && /cursor signing key/.test(r.Properties?.Description ?? ''),
  // A queue without a dead-letter queue of its own, only if it is itself a dead-letter queue: the
  // on-failure destination of an event source mapping, or another queue's redrive target, in the
  // same stack.
  'AwsSolutions-SQS3': (r, id, template) =>
    r.Type === 'AWS::SQS::Queue' &&
    (Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping')).some(
      (m) => JSON.stringify(m.Properties?.DestinationConfig?.OnFailure?.Destination) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
    ) ||
      Object.values(resourcesOf(template, 'AWS::SQS::Queue')).some(
        (q) => JSON.stringify(q.Properties?.RedrivePolicy?.deadLetterTargetArn) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }),
      )),
};

describe.each([
  ['with the built-in user pool', {}],
  ['with an external issuer', { jwtIssuer: 'https://auth.example.com/', jwtAudience: 'cardflow-api' }],
  ['as a destroyable dev stack', { removalPolicy: 'destroy' }],
])('cdk-nag AwsSolutions %s', (_name, context) => {
  // Prepare
  const stacks = buildStacks(context, { nag: true });
  const { streams } = stacks;
  const all = Object.entries(stacks);

  it('checks every stack, and each says so with its report in the assembly', () => {
    expect(all.map(([name]) => name).sort()).toEqual(['api', 'data', 'observability', 'streams']);
    for (const [, stack] of all) Template.fromStack(stack);
    const outdir = (stacks.data.node.root as App).outdir;
    for (const [name, stack] of all) {
      const report = join(outdir, `AwsSolutions--${stack.stackName}-NagReport.csv`);
      expect(existsSync(report), `${name}: ${report}`).toBe(true);
    }
    // The data stack's report lists the rules its resources were checked against (it used to be
    // empty: no AwsSolutions rule looks at a GlobalTable); the observability stack's alarms and
    // dashboard have no AwsSolutions rules, so its report is the header only.
    const dataReport = readFileSync(join(outdir, `AwsSolutions--${stacks.data.stackName}-NagReport.csv`), 'utf8');
    expect(dataReport).toMatch(/AwsSolutions-KMS5.*Compliant/);
  });

  it.each(all)('%s stack: no AwsSolutions errors or warnings', (_stackName, stack) => {
    // Act
    const annotations = Annotations.fromStack(stack);
    // Assess
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data)}`)).toEqual([]);
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
  });

  it.each(all)('%s stack: no other CDK warnings either', (_stackName, stack) => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
  });

  it('every suppression is an allowed rule on an allowed resource, with a reason', () => {
    for (const [, stack] of all) {
      const template = Template.fromStack(stack);
      for (const [id, resource] of Object.entries(resourcesOf(template))) {
        const suppressions = (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Array<{ id: string; reason: string }>;
        for (const s of suppressions) {
          const allowed = ALLOWED_SUPPRESSIONS[s.id];
          expect(allowed, `${id} suppresses ${s.id}`).toBeDefined();
          expect(allowed!(resource, id, template), `${id} may not suppress ${s.id}`).toBe(true);
          expect(s.reason.length, `${id}: ${s.id} needs a concrete reason`).toBeGreaterThan(40);
        }
      }
    }
  });

  it('the dead-letter queues carry the only SQS3 acknowledgements; the delivery and fan-out queues have a DLQ of their own', () => {
    const queues = resourcesOf(Template.fromStack(streams), 'AWS::SQS::Queue');
    const rules = (id: string) => queues[id]?.Metadata?.cdk_nag?.rules_to_suppress;
    const idOf = (q: { node: { defaultChild?: unknown } }) => streams.getLogicalId(q.node.defaultChild as CfnElement);
    expect(Object.keys(queues).sort()).toEqual(
      [streams.deadLetterQueue, streams.deliveryDeadLetterQueue, streams.deliveryQueue, streams.fanOutDeadLetterQueue, streams.fanOutQueue].map(idOf).sort(),
    );
    for (const dlq of [streams.deadLetterQueue, streams.deliveryDeadLetterQueue, streams.fanOutDeadLetterQueue])
      expect(rules(idOf(dlq))).toEqual([expect.objectContaining({ id: 'AwsSolutions-SQS3' })]);
    for (const queue of [streams.deliveryQueue, streams.fanOutQueue]) expect(rules(idOf(queue))).toBeUndefined();
  });
});
