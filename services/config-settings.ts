// How rbnet processes read their settings: an optional JSON config file, and integer settings from
// that file, environment variables or flags, refused with a message that names the setting.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

/** Accepts a safe integer or a string of digits within [min, max]. @throws ConfigError CONFIG_INVALID. */
export function integerSetting(value: unknown, field: string, min: number, max: number): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < min || number > max) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${field}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

/** The JSON object in `path`, or `{}` when the file does not exist. @throws ConfigError for anything else. */
export function readOptionalConfigFile(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('CONFIG_INVALID', `${path}: not valid JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('CONFIG_INVALID', `${path}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}
