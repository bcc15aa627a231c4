// Errors of the consensus core: a refused trust policy, a malformed consensus attestation, a broken decision input.
import { RbnetError } from '../errors.ts';

/**
 * A trust policy was refused. `POLICY_INVALID` names the field and what was wrong, `POLICY_TOO_LARGE`
 * is checked before parsing, and `POLICY_EXPIRED` means the consumer must fetch a fresh policy: an old
 * one may still pin keys their operators have since revoked. `PIN_MISSING` / `PIN_INVALID`: the
 * consumer did not say, or said unreadably, what the file must have been built from (build-pin.ts);
 * `PIN_UNSATISFIED`: a verified statement was built from something else.
 */
export class PolicyError extends RbnetError<
  'POLICY_INVALID' | 'POLICY_TOO_LARGE' | 'POLICY_EXPIRED' | 'PIN_MISSING' | 'PIN_INVALID' | 'PIN_UNSATISFIED'
> {}

/**
 * `CONSENSUS_INVALID`: a consensus attestation (or the facts to compose one) breaks its format.
 * `DECISION_INPUT_INVALID`: decideVerdict was called with input no caller should build (a threshold
 * of 0, a built result without an envelope digest): a bug upstream, not an outcome to report.
 */
export class ConsensusError extends RbnetError<'CONSENSUS_INVALID' | 'DECISION_INPUT_INVALID'> {}
