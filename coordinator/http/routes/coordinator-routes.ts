// Every route the coordinator serves, one list of definitions: the app registers exactly these, and
// /openapi.json is generated from them.
import type { RouteDefinition } from '../route.ts';
import { adminRoutes } from './admin.ts';
import { adminSyncProfileRoutes } from './admin-sync-profiles.ts';
import { adminSyncUploadRoutes } from './admin-sync-uploads.ts';
import { adminWorkerRoutes } from './admin-workers.ts';
import { alertRoutes } from './alerts.ts';
import { aptRoutes } from './apt.ts';
import { artifactRoutes } from './artifacts.ts';
import { buildRoutes } from './builds.ts';
import { contentStoreRoutes } from './cas.ts';
import { diffoscopeRoutes } from './diffoscope.ts';
import { enrolmentRoutes } from './enrolment.ts';
import { feedRoutes } from './feed.ts';
import { leaseRoutes } from './leases.ts';
import { logRoutes } from './log.ts';
import { healthRoutes, operationsRoutes } from './ops.ts';
import { packageRoutes } from './packages.ts';
import { resultRoutes } from './results.ts';
import { tlogRoutes } from './tlog.ts';

/** In registration order. */
export const coordinatorRoutes: readonly RouteDefinition[] = Object.freeze([
  ...healthRoutes,
  ...adminRoutes,
  ...adminWorkerRoutes,
  ...adminSyncProfileRoutes,
  ...adminSyncUploadRoutes,
  ...enrolmentRoutes,
  ...contentStoreRoutes,
  ...buildRoutes,
  ...resultRoutes,
  ...leaseRoutes,
  ...diffoscopeRoutes,
  ...artifactRoutes,
  ...feedRoutes,
  ...packageRoutes,
  ...logRoutes,
  ...tlogRoutes,
  ...aptRoutes,
  ...alertRoutes,
  ...operationsRoutes,
]);
