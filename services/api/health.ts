// The wire contract of GET /healthz: `{ "ok": true }` while the coordinator serves requests.
import { constant, object, parseWire, type WireType } from './wire-type.ts';

export interface HealthAnswer {
  readonly ok: true;
}

export const healthAnswerType: WireType<HealthAnswer> = object(
  { ok: constant(true) },
  {},
  { unknown: 'ignore' },
);

/** Whether `answer` is the coordinator's health answer (read strictly; anything else is not). */
export function isHealthAnswer(answer: string): boolean {
  try {
    parseWire(healthAnswerType, answer, { maxBytes: 4096, what: 'health answer', side: 'answer' });
    return true;
  } catch {
    return false;
  }
}
