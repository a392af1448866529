/**
 * CloudFormation refuses a stack above 500 resources. Each stack stays at or below half of it,
 * so the manifest can double before anyone has to restructure again; measured for every stage
 * shape (own user pool or external issuer), with the manifest as it is and doubled.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { apiAreas } from '../../functions/api/areas';
import { routeList } from '../../functions/api/routes';
import { buildStacks } from './synth';

export const MAX_RESOURCES_PER_STACK = 250;
const CLOUDFORMATION_LIMIT = 500;

const countResources = (stack: Parameters<typeof Template.fromStack>[0]) => Object.keys(Template.fromStack(stack).toJSON().Resources ?? {}).length;

describe.each([
  ['own user pool', {}],
  ['external issuer', { jwtIssuer: 'https://auth.example.com/', jwtAudience: 'cardflow-api' }],
])('resources per stack (%s)', (_name, context) => {
  // Synthesized while collecting (as the other infra tests do): no hook or test timeout applies.
  const counts = Object.fromEntries(Object.values(buildStacks(context)).map((s) => [s.stackName, countResources(s)]));

  it(`no stack has more than ${MAX_RESOURCES_PER_STACK} resources`, () => {
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(3);
    for (const [stackName, count] of Object.entries(counts)) {
      expect(count, `${stackName} has ${count} resources`).toBeLessThanOrEqual(MAX_RESOURCES_PER_STACK);
    }
  });
});

describe('room to grow', () => {
  const now = countResources(buildStacks().api);

  it('each new route in an existing area costs the API stack one resource (its route), so twice the routes stay under the ceiling', () => {
    // per area: function, role, policy, log group, integration, permission; per route: the route
    const perArea = 6;
    const fixed = now - routeList.length - perArea * apiAreas().length;
    expect(fixed).toBeGreaterThan(0);
    expect(fixed).toBeLessThan(15);
    const doubled = fixed + 2 * routeList.length + perArea * apiAreas().length;
    expect(doubled).toBeLessThanOrEqual(MAX_RESOURCES_PER_STACK);
    expect(MAX_RESOURCES_PER_STACK * 2).toBe(CLOUDFORMATION_LIMIT);
  });
});
