/** What the local command-line tools (npm start, npm run token, npm run check:graph) share. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isOrgId } from '../../domain/kernel/auth';

/** One line on stderr and exit 1: the tools never answer a user mistake with a stack trace. */
export function fail(line: string): never {
  console.error(line);
  process.exit(1);
}

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses --flags (no positionals, plus --help); a bad flag fails with the usage line. */
export function parseCli<const O extends Options>(options: O, usage: string) {
  try {
    return parseArgs({ options: { ...options, ...HELP }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    return fail(`${(error as Error).message}. ${usage}`);
  }
}

/** --org, checked with the rule the handlers apply to the token's org_id (it becomes part of every key). */
export function orgArg(org: string | undefined, usage: string): string {
  if (!org) fail(`--org is required. ${usage}`);
  if (!isOrgId(org)) fail(`--org must be 1-64 letters, digits, _ or -, not "${org}"`);
  return org;
}
