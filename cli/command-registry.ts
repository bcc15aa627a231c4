// The table of `rbnet` commands: the words that select each, its one-line summary, and how to load
// it. A command's module (and with it bullmq, ioredis, dockerode, better-sqlite3 or hono) is imported
// only when that command runs or shows its --help, so `rbnet --version` and `rbnet --help` load
// nothing but this table.
import type { Command } from './command.ts';

export interface CommandEntry {
  /** Words that select it, e.g. ['attestation', 'verify']; the loaded command has the same path. */
  readonly path: readonly string[];
  /** One line for `rbnet --help`. */
  readonly summary: string;
  load(): Promise<Command>;
}

export const commandEntries: readonly CommandEntry[] = [
  {
    path: ['rebuild'],
    summary: 'rebuild one manifest in a hermetic single-use container and sign the result',
    load: async () => (await import('./commands/rebuild-command.ts')).rebuildCommand,
  },
  {
    path: ['attestation', 'verify'],
    summary: 'verify a rebuild attestation (DSSE envelope) against public keys you pinned',
    load: async () => (await import('./commands/attestation-verify-command.ts')).attestationVerifyCommand,
  },
  {
    path: ['manifest', 'check'],
    summary: 'validate a manifest and print its sha256 (JCS) without building',
    load: async () => (await import('./commands/manifest-check-command.ts')).manifestCheckCommand,
  },
  {
    path: ['worker', 'init'],
    summary: "create this worker's identity and ed25519 signing key (the private key never leaves this host)",
    load: async () => (await import('./commands/worker-init-command.ts')).workerInitCommand,
  },
  {
    path: ['coordinator', 'run'],
    summary: 'run the coordinator (HTTP API, scheduler, intake, consensus publisher)',
    load: async () => (await import('./commands/coordinator-run-command.ts')).coordinatorRunCommand,
  },
  {
    path: ['admin', 'operator', 'add'],
    summary: 'register an operator (an organisation that runs workers)',
    load: async () => (await import('./commands/admin-commands.ts')).adminOperatorAddCommand,
  },
  {
    path: ['admin', 'token', 'create'],
    summary: "create a single-use enrolment token for one of an operator's workers",
    load: async () => (await import('./commands/admin-commands.ts')).adminTokenCreateCommand,
  },
  {
    path: ['admin', 'maintainer', 'add'],
    summary: 'register a maintainer and print their API token (submit scope)',
    load: async () => (await import('./commands/admin-commands.ts')).adminMaintainerAddCommand,
  },
  {
    path: ['admin', 'worker', 'retire'],
    summary: 'retire a worker: its earlier results keep counting; it never authenticates or builds again',
    load: async () => (await import('./commands/admin-commands.ts')).adminWorkerRetireCommand,
  },
  {
    path: ['admin', 'worker', 'compromised'],
    summary: 'mark a worker compromised since a time: its results received from then on stop counting',
    load: async () => (await import('./commands/admin-commands.ts')).adminWorkerCompromisedCommand,
  },
  {
    path: ['admin', 'worker', 'revoke'],
    summary: 'the older name of `rbnet admin worker retire`',
    load: async () => (await import('./commands/admin-commands.ts')).adminWorkerRevokeCommand,
  },
  {
    path: ['admin', 'gc'],
    summary: 'remove uploaded blobs that no build, result, verdict, log entry or apt link references',
    load: async () => (await import('./commands/admin-commands.ts')).adminGcCommand,
  },
  {
    path: ['admin', 'sync', 'add'],
    summary: "add a sync profile: an archive the coordinator follows, submitting each upload's .buildinfo",
    load: async () => (await import('./commands/sync-commands.ts')).adminSyncAddCommand,
  },
  {
    path: ['admin', 'sync', 'list'],
    summary: 'list the sync profiles',
    load: async () => (await import('./commands/sync-commands.ts')).adminSyncListCommand,
  },
  {
    path: ['admin', 'sync', 'pause'],
    summary: 'stop polling a sync profile (what it recorded is kept)',
    load: async () => (await import('./commands/sync-commands.ts')).adminSyncPauseCommand,
  },
  {
    path: ['admin', 'sync', 'resume'],
    summary: 'poll a paused sync profile again',
    load: async () => (await import('./commands/sync-commands.ts')).adminSyncResumeCommand,
  },
  {
    path: ['admin', 'sync', 'uploads'],
    summary: "list a sync profile's uploads and why they wait",
    load: async () => (await import('./commands/sync-uploads-command.ts')).adminSyncUploadsCommand,
  },
  {
    path: ['admin', 'sync', 'remove'],
    summary: 'remove a sync profile (builds it submitted stay)',
    load: async () => (await import('./commands/sync-commands.ts')).adminSyncRemoveCommand,
  },
  {
    path: ['admin', 'alerts', 'add'],
    summary: 'subscribe a webhook to alerts (regressions, mismatch-upstream, builds not honoured)',
    load: async () => (await import('./commands/admin-alert-commands.ts')).adminAlertsAddCommand,
  },
  {
    path: ['admin', 'alerts', 'list'],
    summary: 'list alert subscriptions (without their secrets)',
    load: async () => (await import('./commands/admin-alert-commands.ts')).adminAlertsListCommand,
  },
  {
    path: ['admin', 'alerts', 'remove'],
    summary: 'remove an alert subscription',
    load: async () => (await import('./commands/admin-alert-commands.ts')).adminAlertsRemoveCommand,
  },
  {
    path: ['admin', 'alerts', 'dead-letters'],
    summary: 'list webhook deliveries given up on',
    load: async () => (await import('./commands/admin-alert-commands.ts')).adminAlertsDeadLettersCommand,
  },
  {
    path: ['worker', 'enrol'],
    summary: "enrol this host's worker with a coordinator (keys are created here and never leave)",
    load: async () => (await import('./commands/worker-network-commands.ts')).workerEnrolCommand,
  },
  {
    path: ['worker', 'run'],
    summary: "consume this worker's queue and rebuild what the coordinator assigns",
    load: async () => (await import('./commands/worker-network-commands.ts')).workerRunCommand,
  },
  {
    path: ['worker', 'doctor'],
    summary: 'check this worker host (engine, disk, environments, keys, clock, Redis, coordinator)',
    load: async () => (await import('./commands/worker-doctor-command.ts')).workerDoctorCommand,
  },
  {
    path: ['submit'],
    summary: "upload a manifest's inputs, submit it, and (with --wait) follow it to a verdict",
    load: async () => (await import('./commands/maintainer-commands.ts')).submitCommand,
  },
  {
    path: ['status'],
    summary: "show a build: each worker's attempt, the verdict and why",
    load: async () => (await import('./commands/maintainer-commands.ts')).statusCommand,
  },
  {
    path: ['verify'],
    summary: 'check locally, against your pinned trust policy, that k independent operators reproduced FILE',
    load: async () => (await import('./commands/consumer-commands.ts')).verifyCommand,
  },
  {
    path: ['policy', 'create'],
    summary: 'write a trust policy from public keys you obtained from each operator',
    load: async () => (await import('./commands/consumer-commands.ts')).policyCreateCommand,
  },
  {
    path: ['bundle', 'export'],
    summary: 'write one file with a consensus attestation and its transparency-log proofs, to verify offline',
    load: async () => (await import('./commands/bundle-export-command.ts')).bundleExportCommand,
  },
  {
    path: ['log', 'watch'],
    summary: 'monitor a transparency log: consistency, every entry, witnesses, and no hidden dissent',
    load: async () => (await import('./commands/log-watch-command.ts')).logWatchCommand,
  },
  {
    path: ['witness', 'init'],
    summary: "create a witness's Ed25519 key and print its vkey (cosignature/v1)",
    load: async () => (await import('./commands/witness-commands.ts')).witnessInitCommand,
  },
  {
    path: ['witness', 'run'],
    summary:
      'witness transparency logs (C2SP tlog-witness): cosign only checkpoints consistent with all before',
    load: async () => (await import('./commands/witness-commands.ts')).witnessRunCommand,
  },
  {
    path: ['apt', 'setup'],
    summary:
      'write a signed in-toto root layout and apt config so apt installs only .debs K operators rebuilt',
    load: async () => (await import('./commands/apt-setup-command.ts')).aptSetupCommand,
  },
  {
    path: ['demo'],
    summary: 'run the whole network on this machine: coordinator, 3 operators, submit the samples, verify',
    load: async () => (await import('./commands/demo-command.ts')).demoCommand,
  },
];

/** The entry whose path is the longest prefix of `argv`, and the words after it. */
export function findCommandEntry(
  argv: readonly string[],
): { entry: CommandEntry; rest: readonly string[] } | undefined {
  const longestFirst = [...commandEntries].sort((a, b) => b.path.length - a.path.length);
  for (const entry of longestFirst) {
    if (entry.path.every((word, i) => argv[i] === word))
      return { entry, rest: argv.slice(entry.path.length) };
  }
  return undefined;
}
