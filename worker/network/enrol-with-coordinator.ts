// `rbnet worker enrol`: creates this worker's signing and auth keys on its own host, registers only
// the public halves with the coordinator, and keeps the queue credentials it receives (mode 0600).
import { createPrivateKey } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readApiErrorBody } from '../../services/api/api-error-body.ts';
import { parseEnrolmentAnswer } from '../../services/api/enrolment.ts';
import { generateEd25519KeyFiles } from '../../services/attestation/ed25519-key.ts';
import { Ed25519FileSigner } from '../../services/attestation/signer.ts';
import {
  createEnrolmentRequest,
  ENROL_PATH,
  type WorkerCapacityClaim,
} from '../../services/auth/worker-enrolment.ts';
import { ConfigError } from '../../services/errors.ts';
import { BACKEND_NAMES, checkBackendNames } from '../backends/rebuild-backend.ts';
import { builderUriFor } from '../identity/worker-identity.ts';
import { CoordinatorRequestError, checkCoordinatorUrl } from './coordinator-client.ts';

export const NETWORK_FILE = 'network.json';
export const AUTH_KEY_FILE = 'worker-auth.key';

export interface NetworkSettings {
  readonly coordinatorUrl: string;
  readonly workerId: string;
  readonly operator: string;
  readonly queueName: string;
  readonly queuePrefix: string;
  readonly redis: { readonly url: string; readonly username: string; readonly password: string };
  /** The backends this worker enrolled with: the ones it loads at start-up. */
  readonly backends: readonly string[];
}

export interface EnrolRequest {
  readonly coordinatorUrl: string;
  readonly token: string;
  readonly workerDir: string;
  readonly workerId: string;
  readonly architectures: readonly string[];
  readonly backends: readonly string[];
  readonly capacity: WorkerCapacityClaim;
}

export async function enrolWithCoordinator(
  request: EnrolRequest,
): Promise<NetworkSettings & { signingKeyid: string }> {
  const origin = checkCoordinatorUrl(request.coordinatorUrl);
  // Refused before any key is made: a worker cannot serve jobs of a backend it does not have.
  const backends = checkBackendNames(request.backends);
  const identityPath = join(request.workerDir, 'worker.json');
  if (
    await access(identityPath).then(
      () => true,
      () => false,
    )
  ) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${identityPath} exists: this directory already holds a worker; use a new --worker-dir`,
    );
  }
  await mkdir(request.workerDir, { recursive: true, mode: 0o700 });
  const signing = await generateEd25519KeyFiles(join(request.workerDir, 'worker-signing.key'));
  const auth = await generateEd25519KeyFiles(join(request.workerDir, AUTH_KEY_FILE));
  const signer = await Ed25519FileSigner.fromFile(signing.privateKeyPath);
  // Both keys prove possession: the signing key over this enrolment, the auth key over the body.
  const { body, headers } = await createEnrolmentRequest({
    origin,
    token: request.token,
    workerId: request.workerId,
    signing: { signer, publicKey: signer.publicKey },
    authPrivateKey: createPrivateKey(await readFile(auth.privateKeyPath)),
    architectures: request.architectures,
    backends,
    capacity: request.capacity,
  });
  let response: Response;
  try {
    response = await fetch(`${origin}${ENROL_PATH}`, {
      method: 'POST',
      body: body as unknown as BodyInit,
      headers,
    });
  } catch (cause) {
    throw new CoordinatorRequestError(
      'COORDINATOR_UNREACHABLE',
      `enrol: ${(cause as Error).message}`,
      undefined,
      undefined,
      { cause },
    );
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    const error = readApiErrorBody(text);
    throw new CoordinatorRequestError(
      'COORDINATOR_REFUSED',
      `enrol: ${response.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      response.status,
      error?.code,
    );
  }
  // Read strictly: these become this host's queue credentials and identity file.
  const answer = parseEnrolmentAnswer(text);
  if (answer.workerId !== request.workerId) {
    throw new CoordinatorRequestError(
      'COORDINATOR_REFUSED',
      `enrol: the coordinator answered for worker ${answer.workerId}, not ${request.workerId}`,
    );
  }
  const { redis } = answer;
  const settings: NetworkSettings = {
    coordinatorUrl: origin,
    workerId: request.workerId,
    operator: answer.operator,
    queueName: answer.queueName,
    queuePrefix: answer.queuePrefix,
    redis: { url: redis.url, username: redis.username, password: redis.password },
    backends,
  };
  await writeFile(
    identityPath,
    `${JSON.stringify({ id: settings.workerId, operator: settings.operator, builderUri: builderUriFor(settings.operator, settings.workerId), keyid: signing.keyid }, null, 2)}\n`,
    { flag: 'wx', mode: 0o644 },
  );
  // Redis credentials are a secret of this host: owner-only, never logged.
  await writeFile(join(request.workerDir, NETWORK_FILE), `${JSON.stringify(settings, null, 2)}\n`, {
    flag: 'wx',
    mode: 0o600,
  });
  return { ...settings, signingKeyid: signing.keyid };
}

export async function loadNetworkSettings(workerDir: string): Promise<NetworkSettings> {
  const path = join(workerDir, NETWORK_FILE);
  try {
    const settings = JSON.parse(await readFile(path, 'utf8')) as Omit<NetworkSettings, 'backends'> & {
      backends?: readonly string[];
    };
    // Enrolled before network.json named its backends: such a worker always had every backend.
    return { ...settings, backends: settings.backends ?? BACKEND_NAMES };
  } catch (cause) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${path}: this worker is not enrolled; run \`rbnet worker enrol --coordinator URL --token T\``,
      { cause },
    );
  }
}
