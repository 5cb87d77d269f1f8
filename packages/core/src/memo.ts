/**
 * Wraps a function of a string so that it runs once per distinct short argument. The cache keeps
 * at most `size` arguments of up to `maxLength` characters and is cleared when full, so a flood
 * of distinct values costs no more than having no cache.
 */
export function memoize<T>(
  compute: (value: string) => T,
  size = 256,
  maxLength = 256,
): (value: string) => T {
  const results = new Map<string, T>();
  return (value) => {
    const known = results.get(value);
    if (known !== undefined || results.has(value)) {
      return known as T;
    }
    const result = compute(value);
    if (value.length <= maxLength) {
      if (results.size >= size) {
        results.clear();
      }
      results.set(value, result);
    }
    return result;
  };
}
