// `rbnet worker doctor`'s checks: is this host fit to rebuild (engine, disk, keys, clock, Redis)?
import { checkEngine, checkEnvironments, checkFreeSpace } from './check-engine-host.ts';
import { checkCoordinatorAndClock, checkIdentity, checkRedis } from './check-worker-enrolment.ts';
import {
  type DoctorThresholds,
  doctorDefaults,
  type HostCheck,
  skip,
  type WorkerHostProbes,
  type WorkerHostReport,
  type WorkerHostTarget,
} from './host-check.ts';

/**
 * Runs every check, in a fixed order, and never throws for a broken host: each problem is a
 * `fail` or `warn` with a fix. Checks that need something that failed are `skip`ped.
 * @returns the checks and `ok` = no check failed.
 */
export async function checkWorkerHost(
  target: WorkerHostTarget,
  probes: WorkerHostProbes,
  thresholds: DoctorThresholds = doctorDefaults,
): Promise<WorkerHostReport> {
  const engine = await checkEngine(target, probes.docker, thresholds);
  const checks: HostCheck[] = [...engine.checks];
  if (!engine.answered) checks.push(skip('engine-disk', 'the engine did not answer'));
  else if (!target.dockerHost.startsWith('unix://') || !engine.dataRoot)
    checks.push(
      skip('engine-disk', `the data root of the engine at ${target.dockerHost} is not on this host`),
    );
  else checks.push(await checkFreeSpace('engine-disk', engine.dataRoot, thresholds));
  checks.push(await checkFreeSpace('state-disk', target.stateDir, thresholds));
  checks.push(
    engine.answered
      ? await checkEnvironments(target.stateDir, probes.docker)
      : skip('environments', 'the engine did not answer'),
  );
  const identity = await checkIdentity(target.workerDir);
  checks.push(...identity.checks);
  if (identity.settings) {
    checks.push(...(await checkCoordinatorAndClock(identity.settings, probes, thresholds)));
    checks.push(await checkRedis(identity.settings, probes, thresholds));
  } else {
    for (const id of ['coordinator', 'clock', 'redis'] as const)
      checks.push(skip(id, 'this worker is not enrolled (see identity)'));
  }
  return Object.freeze({ ok: checks.every((c) => c.status !== 'fail'), checks: Object.freeze(checks) });
}
