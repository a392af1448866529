// Run by HouseFunction's afterBundling hook (infra/bundling/options.ts): node stable-sourcemap.mjs <projectRoot> <bundleDir>
//
// esbuild writes the source map's `sources` relative to the bundle's directory, which is a
// temporary directory inside the cloud assembly (cdk.out/bundling-temp-…). The asset hash is
// computed from the bundle output, so the hash (and the template) changed with the output
// directory. Rewritten relative to the project root, the map is the same wherever the assembly
// goes, and in Lambda the sources resolve to /var/task/functions/… in stack traces.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

const [root, dir] = process.argv.slice(2);
if (!root || !dir) throw new Error('usage: stable-sourcemap.mjs <projectRoot> <bundleDir>');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.map'))) {
  const path = join(dir, file);
  const map = JSON.parse(readFileSync(path, 'utf8'));
  map.sources = map.sources.map((source) => relative(root, resolve(dir, source)).split(sep).join('/'));
  delete map.sourceRoot;
  writeFileSync(path, JSON.stringify(map));
}
