/**
 * `npm run token -- --org demo --role member [--sub u1] [--expires 12h]`
 *
 * Prints a JWT signed with the persisted dev key, so it works against a running `npm start`.
 * Only the token goes to stdout: TOKEN=$(npm run -s token -- --org demo --role viewer)
 */
import { ROLES, type Role } from '../../domain/kernel/auth';
import { fail, orgArg, parseCli } from './cli';
import { createDevIssuer } from './dev-issuer';

const USAGE = `Usage: npm run token -- --org <orgId> --role <${ROLES.join('|')}> [--sub <userId>] [--expires 12h] [--key-file <path>]`;

async function main() {
  const values = parseCli(
    {
      org: { type: 'string' },
      role: { type: 'string' },
      sub: { type: 'string' },
      expires: { type: 'string', default: '12h' },
      'key-file': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const { role, sub, expires } = values;
  const org = orgArg(values.org, USAGE);
  if (!role || !ROLES.includes(role as Role)) fail(`--role must be one of ${ROLES.join(', ')}. ${USAGE}`);

  const issuer = await createDevIssuer(values['key-file'] ? { keyFile: values['key-file'] } : {});
  let token: string;
  try {
    token = await issuer.mintToken({ orgId: org, role: role as Role, ...(sub ? { sub } : {}), expiresIn: expires });
  } catch (error) {
    fail(`--expires must be a time span such as 15m, 12h or 7d (${(error as Error).message})`);
  }
  console.log(token);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
