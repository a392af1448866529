/**
 * Lean bundles: every API area bundle, built with the options the stacks ship
 * (infra/bundling/options.ts), stays at or below 500 KiB; the AWS SDK is left to the runtime;
 * zod is bundled without its locales, and the locale-free zod exports everything zod does but
 * `locales` (guards the hand-written re-export files against a zod upgrade). Sizes are
 * deterministic; start-up time is measured in `npm run bench` (bench/bundles-startup.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { MAX_API_BUNDLE_BYTES } from '../../bench/bundles-startup';
import { LAMBDA_BUILD_OPTIONS, ZOD_WITHOUT_LOCALES } from '../../infra/bundling/options';
import { REPO_ROOT } from '../../infra/stacks/house-function';

const areas = readdirSync(join(REPO_ROOT, 'functions/api/areas')).filter((f) => f.endsWith('.ts'));

async function bundle(entry: string) {
  const result = await build({ ...LAMBDA_BUILD_OPTIONS, entryPoints: [join(REPO_ROOT, entry)], absWorkingDir: REPO_ROOT });
  const js = result.outputFiles!.find((f) => f.path.endsWith('.mjs'))!;
  const inputs = Object.entries(Object.values(result.metafile!.outputs)[0]!.inputs)
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([path]) => path);
  return { bytes: js.contents.byteLength, inputs };
}

describe('API area bundles', () => {
  it.each(areas)(
    `%s is at most ${MAX_API_BUNDLE_BYTES / 1024} KiB, without the SDK or zod's locales`,
    async (file) => {
      const { bytes, inputs } = await bundle(`functions/api/areas/${file}`);
      expect(bytes).toBeLessThanOrEqual(MAX_API_BUNDLE_BYTES);
      expect(inputs.filter((p) => p.includes('node_modules/@aws-sdk/'))).toEqual([]);
      // English messages only: zod's classic schemas configure en.js themselves.
      expect(inputs.filter((p) => p.includes('node_modules/zod/v4/locales/') && !p.endsWith('/en.js'))).toEqual([]);
      expect(inputs.some((p) => p.includes('node_modules/zod/'))).toBe(true);
    },
    60_000,
  );
});

describe('zod without locales', () => {
  it('exports what zod exports, but `locales`', async () => {
    const zod = await import('zod');
    const lean = await import(ZOD_WITHOUT_LOCALES);
    expect(Object.keys(lean).sort()).toEqual(
      Object.keys(zod)
        .filter((k) => k !== 'locales')
        .sort(),
    );
    expect(Object.keys(lean.z).sort()).toEqual(
      Object.keys(zod.z)
        .filter((k) => k !== 'locales')
        .sort(),
    );
    // English messages still configured (zod's classic schemas set them).
    const issue = lean.z.string().safeParse(1).error!.issues[0]!;
    expect(issue.message).toMatch(/expected string/i);
  });
});
