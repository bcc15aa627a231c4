// Labels put on every build container so a janitor can find and remove the ones a worker left behind.

export const LABEL_ROLE = 'dev.rbnet.role';
export const LABEL_WORKER = 'dev.rbnet.worker';
export const LABEL_MANIFEST = 'dev.rbnet.manifest-sha256';
export const ROLE_BUILD = 'build';

export function buildContainerLabels(workerId: string, manifestSha256: string): Record<string, string> {
  return { [LABEL_ROLE]: ROLE_BUILD, [LABEL_WORKER]: workerId, [LABEL_MANIFEST]: manifestSha256 };
}
