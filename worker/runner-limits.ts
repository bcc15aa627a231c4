// Per-build resource limits a worker enforces, whatever a manifest asks for.

/** Limits on one rebuild. Every field has a unit in its name; all are enforced by the runner. */
export interface RunnerLimits {
  /** Wall-time cap; the effective limit is min(manifest.build.timeLimitSeconds, this). */
  readonly maxBuildTimeSeconds: number;
  /** Container memory (and memory+swap: no swap). */
  readonly memoryBytes: number;
  /** CPU quota in units of 1e-9 CPUs (Docker NanoCpus). */
  readonly nanoCpus: number;
  /** Maximum number of processes/threads inside the container. */
  readonly pidsLimit: number;
  /** Bytes a build may write on top of its image (the quota is set to image size + this; needs btrfs). */
  readonly diskBytes: number;
  /** Build log bytes kept; the rest is counted, hashed into nothing, and flagged as truncated. */
  readonly maxLogBytes: number;
  /** Sum of the sizes of all output files. */
  readonly maxOutputBytes: number;
  /** Number of entries (files and directories) in the output directory. */
  readonly maxOutputEntries: number;
  /** Sum of the sizes of all inputs copied in. */
  readonly maxInputBytes: number;
}

export const defaultRunnerLimits: RunnerLimits = Object.freeze({
  maxBuildTimeSeconds: 3600,
  memoryBytes: 2 * 1024 ** 3,
  nanoCpus: 1_000_000_000,
  pidsLimit: 512,
  diskBytes: 10 * 1024 ** 3,
  maxLogBytes: 16 * 1024 ** 2,
  maxOutputBytes: 4 * 1024 ** 3,
  maxOutputEntries: 100_000,
  maxInputBytes: 4 * 1024 ** 3,
});
