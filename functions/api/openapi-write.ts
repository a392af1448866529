/** `npm run openapi`: writes the committed copy of the OpenAPI document. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from './openapi';

export const OPENAPI_FILE = fileURLToPath(new URL('./openapi.json', import.meta.url));

writeFileSync(OPENAPI_FILE, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${OPENAPI_FILE}`);
