/**
 * cdk-nag AwsSolutions on both stacks: no unacknowledged error or warning, and the few
 * acknowledgements there are stay scoped and explained.
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { routeList } from '../../functions/api/routes';
import { buildStacks, resourcesOf } from './synth';

/** Rule id → the only resources allowed to suppress it. Anything else must be fixed, not suppressed. */
const ALLOWED_SUPPRESSIONS: Record<string, (resource: { Type: string; Properties?: Record<string, any> }) => boolean> = {
  // Public routes (role null in the manifest) have no authorizer by design.
  'AwsSolutions-APIG4': (r) =>
    r.Type === 'AWS::ApiGatewayV2::Route' &&
    routeList.some((route) => route.role === null && `${route.method} ${route.path}` === r.Properties?.RouteKey),
};

describe.each([
  ['with the built-in user pool', {}],
  ['with an external issuer', { jwtIssuer: 'https://auth.example.com/', jwtAudience: 'cardflow-api' }],
  ['as a destroyable dev stack', { removalPolicy: 'destroy' }],
])('cdk-nag AwsSolutions %s', (_name, context) => {
  // Prepare
  const { data, api } = buildStacks(context, { nag: true });

  it.each([
    ['data', data],
    ['api', api],
  ])('%s stack: no AwsSolutions errors or warnings', (_stackName, stack) => {
    // Act
    const annotations = Annotations.fromStack(stack);
    // Assess
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((e) => `${e.id}: ${String(e.entry.data)}`)).toEqual([]);
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
  });

  it.each([
    ['data', data],
    ['api', api],
  ])('%s stack: no other CDK warnings either', (_stackName, stack) => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue());
    expect(warnings.map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
  });

  it('every suppression is an allowed rule on an allowed resource, with a reason', () => {
    for (const stack of [data, api]) {
      for (const [id, resource] of Object.entries(resourcesOf(Template.fromStack(stack)))) {
        const suppressions = (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) as Array<{ id: string; reason: string }>;
        for (const s of suppressions) {
          const allowed = ALLOWED_SUPPRESSIONS[s.id];
          expect(allowed, `${id} suppresses ${s.id}`).toBeDefined();
          expect(allowed!(resource), `${id} may not suppress ${s.id}`).toBe(true);
          expect(s.reason.length, `${id}: ${s.id} needs a concrete reason`).toBeGreaterThan(40);
        }
      }
    }
  });
});
