// RFC 3339 times in UTC ("Z") only, as people write them in policies and admin requests.

/** RFC 3339 in UTC only ("Z"): an offset would make two spellings of one instant. */
const UTC_TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z$/;

/**
 * Milliseconds since the epoch of an RFC 3339 UTC time such as `2027-01-01T00:00:00Z`, or undefined
 * when the text is not one (an offset, a date that does not exist, anything else). Fractions below a
 * millisecond are rounded down.
 */
export function parseUtcTimestamp(text: string): number | undefined {
  const match = UTC_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}Z`);
  // Date.parse rolls 2027-02-30 over into March; the round trip catches it.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== match[1]) return undefined;
  const fraction = match[2] === undefined ? 0 : Math.floor(Number(`0${match[2]}`) * 1000);
  return ms + fraction;
}
