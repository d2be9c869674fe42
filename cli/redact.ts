/** The shortest value that redaction replaces. */
const MIN_REDACTED_LENGTH = 4;

/**
 * Replaces every occurrence of a value read in this run. Longer values go first, so that no part
 * of a longer value survives the replacement of a shorter one that it contains.
 */
export function redactValues(text: string, values: Set<string>): string {
  let result = text;
  for (const value of [...values].sort((left, right) => right.length - left.length)) {
    // NOTE: values shorter than this are left alone, because replacing "1" or "ab" would garble
    // every message. The first guard, that messages never include a value, still covers them.
    if (value.length >= MIN_REDACTED_LENGTH) result = result.split(value).join('[redacted]');
  }
  return result;
}
