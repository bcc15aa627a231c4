// Reads one integer setting from a config file value, an environment variable or a flag, refusing
// anything else with a message that names the setting.
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
