// What the hermetic runner is asked to do and what comes of it: a build that failed is a value with a
// reason, like one that built; a container the engine would not remove is named, never thrown.
import type { Manifest } from '../../services/manifest/manifest.ts';
import type { ResolvedEnvironment } from '../environment/environment-registry.ts';
import type { InputSource } from '../inputs/input-source.ts';
import type { RunnerLimits } from '../runner-limits.ts';
import type { CapturedLog } from './log-capture.ts';
import type { CapturedFile } from './output-capture.ts';

export type BuildFailureReason = 'exit-code' | 'timeout' | 'oom' | 'disk' | 'output-rejected';

/** A build container the engine refused to remove: left for the operator, named in logs and results. */
export interface LeftoverContainer {
  readonly containerId: string;
  readonly detail: string;
}

export type SandboxOutcome = (
  | {
      readonly kind: 'built';
      readonly outputs: readonly CapturedFile[];
      readonly totalOutputBytes: number;
      readonly log: CapturedLog;
      readonly durationMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly reason: BuildFailureReason;
      readonly detail: string;
      readonly exitCode?: number;
      readonly log: CapturedLog;
      readonly durationMs: number;
    }
) & {
  /** Set when the container could not be removed afterwards; the outcome itself stands. */
  readonly leftover?: LeftoverContainer;
};

/** What a start-up sweep did with the build containers it found. */
export interface OrphanSweep {
  /** Containers removed: their owner is gone (or, unlabelled, they were this worker's and stopped). */
  readonly removed: number;
  /** Left alone: their owner still runs, or cannot be checked from here. */
  readonly kept: readonly { readonly containerId: string; readonly detail: string }[];
  /** Owner gone, but the engine refused to remove them. */
  readonly unremovable: readonly LeftoverContainer[];
}

export type SandboxPhase = 'inputs' | 'build' | 'capture' | 'cleanup';

export interface SandboxRunArgs {
  readonly manifest: Manifest;
  readonly manifestSha256: string;
  readonly environment: ResolvedEnvironment;
  readonly inputs: InputSource;
  readonly limits: RunnerLimits;
  readonly workerId: string;
  /** Where the capped build log is written. */
  readonly logPath: string;
  /** When set, output files are written here as they are hashed. */
  readonly outputsDir?: string;
  readonly signal?: AbortSignal;
  readonly onPhase?: (phase: SandboxPhase) => void;
}
