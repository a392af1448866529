/**
 * npm run backfill:gsi3 -- [--table NAME] [--segments 4] [--page-size 500] [--state FILE] [--restart]
 *
 * Gives GSI3 keys to cards and records written before GSI3 existed (domain/items/backfill-gsi3.ts),
 * against the table in TABLE_NAME (or --table) with the usual AWS credentials and region (or
 * AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local). Progress is saved to the state file after every
 * page: run the same command again to continue after an interruption; once complete, a run says
 * so and does nothing (--restart scans again, which is harmless: nothing is written twice).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backfillGsi3, type BackfillState } from '../../domain/items/backfill-gsi3';
import { documentClient } from '../../domain/kernel/client';

const { values: args } = parseArgs({
  options: {
    table: { type: 'string' },
    segments: { type: 'string', default: '4' },
    'page-size': { type: 'string', default: '500' },
    state: { type: 'string' },
    restart: { type: 'boolean', default: false },
  },
});

const table = args.table ?? process.env['TABLE_NAME'];
if (!table) throw new Error('Name the table: --table NAME or TABLE_NAME');
const stateFile = args.state ?? `.backfill-gsi3.${table}.json`;
const segments = Number(args.segments);
const pageSize = Number(args['page-size']);
if (!Number.isInteger(segments) || segments < 1 || segments > 64) throw new Error(`--segments takes 1 to 64, not ${args.segments}`);
if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`--page-size takes a positive integer, not ${args['page-size']}`);

const saved = !args.restart && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as BackfillState) : undefined;
if (saved?.segments.every((s) => s.done)) {
  console.log(`GSI3 backfill of ${table} is complete already (${stateFile}: ${saved.updated} items updated). --restart to scan again.`);
  process.exit(0);
}
const save = (state: BackfillState) => {
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
  renameSync(`${stateFile}.tmp`, stateFile);
};
console.log(saved ? `Continuing the GSI3 backfill of ${table} from ${stateFile}` : `GSI3 backfill of ${table}: ${segments} segments, pages of ${pageSize}`);
const result = await backfillGsi3(documentClient, table, {
  segments,
  pageSize,
  ...(saved ? { state: saved } : {}),
  onPage: (state) => {
    save(state);
    process.stdout.write(
      `\r${state.scanned} scanned, ${state.updated} updated, ${state.skipped} skipped, ${state.segments.filter((s) => s.done).length}/${state.segments.length} segments done`,
    );
  },
});
console.log(
  `\n${result.complete ? 'Complete' : 'Stopped'}: ${result.scanned} scanned, ${result.updated} updated, ${result.skipped} skipped (state in ${stateFile}).`,
);
