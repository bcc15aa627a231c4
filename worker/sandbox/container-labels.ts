// Labels put on every build container: what it builds, for which worker, and which live process
// owns it, so a start-up sweep removes only containers whose owner is gone.
import { type ContainerOwner, ownerLabels } from './container-owner.ts';

export const LABEL_ROLE = 'dev.rbnet.role';
export const LABEL_WORKER = 'dev.rbnet.worker';
export const LABEL_MANIFEST = 'dev.rbnet.manifest-sha256';
export const ROLE_BUILD = 'build';

export function buildContainerLabels(
  workerId: string,
  manifestSha256: string,
  owner: ContainerOwner,
): Record<string, string> {
  return {
    [LABEL_ROLE]: ROLE_BUILD,
    [LABEL_WORKER]: workerId,
    [LABEL_MANIFEST]: manifestSha256,
    ...ownerLabels(owner),
  };
}
