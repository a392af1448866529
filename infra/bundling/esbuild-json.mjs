// Run by HouseFunction's afterBundling hook (infra/bundling/options.ts, tracerChunkCommands):
// node esbuild-json.mjs <base64 of esbuild BuildOptions as JSON> — builds one more file beside the
// bundle with options computed in TypeScript, which a shell command cannot import.
import { build } from 'esbuild';

const [encoded] = process.argv.slice(2);
if (!encoded) throw new Error('usage: esbuild-json.mjs <base64 JSON build options>');
await build(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')));
