// Types of build-stamp.mjs, for the tests that import it.
export declare const SOURCE_DIRS: readonly string[];
export declare const DIST_DIR: string;
export declare const STAMP_PATH: string;
export interface SourceFingerprint {
  readonly sourceCount: number;
  readonly newestMtimeMs: number;
  readonly newestPath: string;
}
export declare function sourceFingerprint(root: string): SourceFingerprint;
export declare function readStamp(root: string): { sourceCount: number; newestMtimeMs: number } | undefined;
export declare function distProblem(root: string): string | undefined;
