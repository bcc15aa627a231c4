// Serialises the work on one build inside this coordinator process: intake, the sweep and submit
// may all want to assign and decide the same build at once, and two of them must never both
// assign the same next attempt.
const tails = new Map<string, Promise<unknown>>();

export async function withBuildLock<T>(buildId: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(buildId) ?? Promise.resolve();
  const run = previous.then(work, work);
  const tail = run.catch(() => undefined);
  tails.set(buildId, tail);
  try {
    return await run;
  } finally {
    // Forget the build once nobody queued behind us, so the map does not grow with history.
    if (tails.get(buildId) === tail) tails.delete(buildId);
  }
}
