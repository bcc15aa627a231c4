// A coordinator's two queue ends against a test Redis: a dispatcher and a completion listener that
// collects what it hears, both closed by the test's cleanups.
import type { Redis } from 'ioredis';
import {
  CompletionListener,
  type JobCompletion,
  JobDispatcher,
} from '../../coordinator/queue/job-dispatcher.ts';

export interface DispatchAndListen {
  readonly dispatcher: JobDispatcher;
  readonly listener: CompletionListener;
  /** Every completion heard, in order. */
  readonly completions: JobCompletion[];
  readonly listenerErrors: Error[];
}

/** `cleanups` receives the two closes; the listener polls every 500 ms so a test hears quickly. */
export function dispatchAndListen(
  admin: Redis,
  prefix: string,
  cleanups: (() => unknown)[],
): DispatchAndListen {
  const dispatcher = new JobDispatcher({ admin, prefix });
  cleanups.push(() => dispatcher.close());
  const completions: JobCompletion[] = [];
  const listenerErrors: Error[] = [];
  const listener = new CompletionListener({
    admin,
    prefix,
    onCompletion: (completion) => {
      completions.push(completion);
    },
    onError: (error) => listenerErrors.push(error),
    blockMs: 500,
  });
  cleanups.push(() => listener.close());
  return { dispatcher, listener, completions, listenerErrors };
}
