/** The error `fn` throws, which must be an instance of `type` (anything else is rethrown; no throw fails the test). */
export function errorOf<E extends Error>(type: abstract new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name}`);
}
