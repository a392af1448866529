/** Configuration read once per container; a missing value fails at start-up, not mid-request. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

export const tableName = () => requiredEnv('TABLE_NAME');
