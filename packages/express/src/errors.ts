/** Returns the HTTP status an error carries (`status` or `statusCode`, 400 to 599), else 500. */
export function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) {
    return 500;
  }
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599
    ? value
    : 500;
}
