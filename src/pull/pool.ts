/**
 * Run `work` over `items` with one worker per resource (a connection pair), in order: the first
 * item goes to the first free worker. The first failure stops handing out work and is rethrown
 * once the running items settle.
 *
 * `idle`, when given, is what a worker does once no item is left to start: it is called again and
 * again on that worker's resource until it returns false (nothing more to do for now), so the tail
 * of a long item on one worker can overlap smaller follow-up work on the others.
 */
export async function runPool<T, R>(
  items: readonly T[],
  resources: readonly R[],
  work: (item: T, resource: R) => Promise<void>,
  idle?: (resource: R) => Promise<boolean>,
): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  await Promise.all(
    resources.map(async (resource) => {
      try {
        while (failure === undefined && next < items.length) {
          const item = items[next++] as T;
          await work(item, resource);
        }
        while (idle && failure === undefined && (await idle(resource)));
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }),
  );
  if (failure !== undefined) throw failure;
}
