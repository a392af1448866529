/**
 * The API reference page's assets: swagger-ui-dist's browser bundle and stylesheet, served by
 * the system area itself (no CDN: the page works offline and on a closed network). Locally they
 * are read from the installed package; in the Lambda bundle, from the `swagger-ui/` directory
 * that the API stack copies beside the bundled handler (DOCS_BUNDLE_FILES).
 */
import { existsSync, readFileSync } from 'node:fs';
// Aliased: Lambda bundles declare a top-level createRequire in their banner (infra/stacks/house-function.ts).
import { createRequire as requireFrom } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Directory name, beside the bundled handler, that holds the files in the Lambda bundle. */
export const DOCS_BUNDLE_DIR = 'swagger-ui';

/** The files of swagger-ui-dist the page needs, by the name the page asks for, with their type. */
export const DOCS_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
};

/** What the API stack copies from node_modules into the system area's bundle. */
export const DOCS_BUNDLE_FILES = Object.keys(DOCS_ASSETS).map((name) => ({
  from: join('node_modules', 'swagger-ui-dist', name),
  to: join(DOCS_BUNDLE_DIR, name),
}));

let directory: string | undefined;

function assetDirectory(): string {
  if (directory) return directory;
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, DOCS_BUNDLE_DIR);
  directory = existsSync(bundled) ? bundled : dirname(requireFrom(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return directory;
}

const cache = new Map<string, string>();

/** An asset's text and content type; undefined for a name that is not one of DOCS_ASSETS. */
export function docsAsset(name: string): { body: string; contentType: string } | undefined {
  const contentType = DOCS_ASSETS[name];
  if (!contentType) return undefined;
  let body = cache.get(name);
  if (body === undefined) {
    body = readFileSync(join(assetDirectory(), name), 'utf8');
    cache.set(name, body);
  }
  return { body, contentType };
}
