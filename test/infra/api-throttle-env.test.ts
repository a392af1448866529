/**
 * The stage's throttle reaches the API functions: API Gateway refuses requests over it, and the
 * 429s the code answers itself publish it in RateLimit-Policy, read from API_THROTTLE_RATE /
 * API_THROTTLE_BURST (functions/api/rate-limit.ts). Both must come from the stage file.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { afterEach, describe, expect, it } from 'vitest';
import { apiPolicy } from '../../functions/api/rate-limit';
import { STAGES } from '../../infra/stages';
import { buildStacks, onlyResource, resourcesOf } from './synth';

const saved = { rate: process.env['API_THROTTLE_RATE'], burst: process.env['API_THROTTLE_BURST'] };
afterEach(() => {
  for (const [name, value] of [
    ['API_THROTTLE_RATE', saved.rate],
    ['API_THROTTLE_BURST', saved.burst],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('the stage throttle in the API functions', () => {
  it.each(['prod', 'dev'] as const)("%s: every API function gets the stage file's rate and burst, as the stage does", (stage) => {
    const { rateLimit, burstLimit } = STAGES[stage].throttle;
    const { api } = buildStacks({ stage });
    const template = Template.fromStack(api);
    const [, gatewayStage] = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
    expect(gatewayStage.Properties!.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit });
    const areaFunctions = Object.values(api.areaFunctions).map((fn) => api.getLogicalId(fn.function.node.defaultChild as never));
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(areaFunctions.length).toBeGreaterThan(0);
    for (const id of areaFunctions) {
      expect(functions[id]!.Properties!.Environment.Variables, id).toMatchObject({
        API_THROTTLE_RATE: String(rateLimit),
        API_THROTTLE_BURST: String(burstLimit),
      });
    }
  });

  it('the published policy is what the function environment says', () => {
    process.env['API_THROTTLE_RATE'] = String(STAGES.prod.throttle.rateLimit);
    process.env['API_THROTTLE_BURST'] = String(STAGES.prod.throttle.burstLimit);
    expect(apiPolicy()).toEqual({ name: 'api', rate: 500, burst: 1000 });
  });
});
