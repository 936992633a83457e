/**
 * Run `work` over `items` with one worker per resource (a connection pair), in order: the first
 * item goes to the first free worker. The first failure stops handing out work and is rethrown
 * once the running items settle.
 */
export async function runPool<T, R>(items: readonly T[], resources: readonly R[], work: (item: T, resource: R) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  await Promise.all(
    resources.map(async (resource) => {
      while (failure === undefined && next < items.length) {
        const item = items[next++] as T;
        try {
          await work(item, resource);
        } catch (error) {
          failure ??= error;
        }
      }
    }),
  );
  if (failure !== undefined) throw failure;
}
