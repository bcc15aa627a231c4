// Small helpers for messages about untrusted values: bounded quoting, and URI shape checks.

/** JSON of `value`, cut to 80 characters: error messages quote what was wrong without echoing a flood. */
export function describeValue(value: unknown): string {
  const text = String(JSON.stringify(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Whether `text` parses as an absolute URI (a scheme and what follows). */
export function isAbsoluteUri(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
