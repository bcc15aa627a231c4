// A lying coordinator, as a consumer meets it: a real HTTP server this test scripts serves crafted
// build lists, consensus attestations and answers to `rbnet verify` (and worker envelopes to
// `rbnet attestation verify`). The coordinator holds no operator key, so every forgery it can make is
// one of these; each test is one named attack and the refusal, by name, the consumer must print.
// Signatures are real ed25519 over real statements; only the coordinator is a script.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IN_TOTO_PAYLOAD_TYPE, preAuthEncoding } from '../../../services/attestation/dsse.ts';
import type { DebianSourceFact } from '../../../services/attestation/rebuild-statement.ts';
import { composeRebuildStatement } from '../../../services/attestation/sign-rebuild-statement.ts';
import {
  composeConsensusStatement,
  RBNET_CONSENSUS_EXTENSION,
  signConsensusAttestation,
} from '../../../services/consensus/consensus-attestation.ts';
import {
  digestOf,
  manifestFor,
  newKey,
  policyDocument,
  type RebuildOptions,
  rebuildFacts,
  signRebuild,
  type TestKey,
} from '../../../services/consensus/consensus-test-fixtures.ts';
import type { Decision } from '../../../services/consensus/decide-verdict.ts';
import { type Sha256Hex, sha256Hex } from '../../../services/digest.ts';
import type { ParsedManifest } from '../../../services/manifest/manifest.ts';
import { parseManifest } from '../../../services/manifest/parse-manifest.ts';
import { type CliRun, runCli } from '../../support/run-cli.ts';
import { REPO_ROOT } from '../../support/runner-harness.ts';
import {
  type ScriptedHandler,
  type ScriptedHttpServer,
  sendJson,
  startScriptedHttpServer,
} from '../../support/scripted-http-server.ts';

const alpha = newKey();
const alpha2 = newKey();
const beta = newKey();
const gamma = newKey();
const coordinatorKey = newKey();
const rogueCoordinatorKey = newKey();

const FILE_BYTES = 'Hello from rbnet. SOURCE_DATE_EPOCH=1700000000\n';
const FILE_SHA = sha256Hex(FILE_BYTES) as Sha256Hex;
const OTHER_SHA = digestOf('what the operators really built');
const MESSAGE = { path: 'doc/MESSAGE.txt', sha256: digestOf('MESSAGE'), sizeBytes: 12 };
const OUTPUTS = [{ path: 'hello.txt', sha256: FILE_SHA, sizeBytes: FILE_BYTES.length }, MESSAGE];
const EVIL = manifestFor('evil');
const HELLO_DEB: ParsedManifest = manifestFor('hello');
const ARCHIVE_SOURCE: DebianSourceFact = {
  name: 'hello',
  version: '2.10-3',
  origin: 'archive',
  dscSha256: digestOf('hello_2.10-3.dsc'),
};
const BUILD = randomUUID();

let dir: string;
let server: ScriptedHttpServer;
let otherHost: ScriptedHttpServer;
let filePath: string;
let hello: ParsedManifest;
let policyPath: string;
let coordinatorPinnedPolicyPath: string;
let pinHello: string[];
const PIN_DEBIAN = ['--debian-source', 'hello=2.10-3'];

/** alpha, beta and gamma's honest envelopes for the pinned manifest, the file among their outputs. */
let honest: string[];

async function envelope(key: TestKey, operator: string, options: Partial<RebuildOptions> = {}) {
  return (await signRebuild(key, { operator, manifest: hello, outputs: OUTPUTS, ...options })).envelopeJson;
}

/** The coordinator always claims success: three operators, reproducible, the file agreed. */
const CLAIM: Decision = {
  verdict: 'reproducible',
  countedOperators: ['alpha', 'beta', 'gamma'],
  agreeingOperators: ['alpha', 'beta', 'gamma'],
  agreeingOutputs: OUTPUTS.map(({ path, sha256 }) => ({ path, sha256 })),
  notCounted: [],
  explanation: 'three operators reproduced it',
};

/** A consensus attestation over `envelopes`, claiming whatever the coordinator likes. */
async function consensus(
  envelopes: readonly string[],
  options: { signer?: TestKey; manifestSha256?: Sha256Hex; threshold?: number; decision?: Decision } = {},
): Promise<string> {
  const signed = await signConsensusAttestation(
    {
      buildId: BUILD,
      verifierId: 'https://coordinator.rbnet.example/',
      timeVerified: new Date('2026-12-01T00:00:00Z'),
      manifestSha256: options.manifestSha256 ?? hello.manifestSha256,
      claimedOutputs: [],
      policy: { threshold: options.threshold ?? 2, allowFetchedEnvironments: false },
      decision: options.decision ?? CLAIM,
      envelopes,
    },
    (options.signer ?? coordinatorKey).signer,
  );
  return signed.envelopeJson;
}

/** A consensus statement our composer refuses, edited by `edit` and signed anyway by the coordinator. */
// biome-ignore lint/suspicious/noExplicitAny: a deliberately edited copy of a statement
type EditableStatement = Record<string, any>;

async function forgedConsensus(
  envelopes: readonly string[],
  edit: (statement: EditableStatement) => void,
): Promise<string> {
  const statement = structuredClone(
    composeConsensusStatement({
      buildId: BUILD,
      verifierId: 'https://coordinator.rbnet.example/',
      timeVerified: new Date('2026-12-01T00:00:00Z'),
      manifestSha256: hello.manifestSha256,
      claimedOutputs: [],
      policy: { threshold: 2, allowFetchedEnvironments: false },
      decision: CLAIM,
      envelopes: [...new Set(envelopes)],
    }),
  ) as EditableStatement;
  edit(statement);
  return signedEnvelope(coordinatorKey, Buffer.from(JSON.stringify(statement)));
}

async function signedEnvelope(key: TestKey, payload: Buffer, payloadType = IN_TOTO_PAYLOAD_TYPE) {
  const sig = await key.signer.sign(preAuthEncoding(payloadType, payload));
  return JSON.stringify({
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid: key.keyid, sig: Buffer.from(sig).toString('base64') }],
  });
}

/** `text` (a DSSE envelope) with its payload rewritten by `edit`, the signature left as it was. */
function rewritePayload(text: string, edit: (payload: string) => string): string {
  const parsed = JSON.parse(text) as { payload: string };
  const payload = edit(Buffer.from(parsed.payload, 'base64').toString('utf8'));
  return JSON.stringify({ ...parsed, payload: Buffer.from(payload).toString('base64') });
}

function listEntry(buildId: string, extra: Record<string, unknown> = {}) {
  return {
    buildId,
    name: 'hello',
    manifestSha256: hello.manifestSha256,
    verdict: 'reproducible',
    links: {
      self: `/v1/builds/${buildId}`,
      attestation: `/v1/builds/${buildId}/attestation`,
      divergence: '',
    },
    ...extra,
  };
}

function page(ids: readonly string[], nextCursor: string | null = null, sha256: string = FILE_SHA) {
  return { sha256, builds: ids.map((id) => listEntry(id)), nextCursor };
}

/** A scripted answer: JSON text, an object sent as JSON, or a handler that answers (or never does). */
type Answer = string | object | ScriptedHandler;

/**
 * Scripts the coordinator: `listing` answers GET /v1/artifacts/sha256/<file> (or `pages`, by the
 * cursor asked for, '' for the first page), `attestations` answer GET /v1/builds/<id>/attestation.
 * Everything else is 404. Without a listing, the list names exactly the builds with attestations.
 */
function coordinatorServes(script: {
  listing?: Answer;
  pages?: (cursor: string) => Answer;
  attestations?: Record<string, Answer>;
}): void {
  const attestations = script.attestations ?? {};
  const pages = script.pages ?? (() => script.listing ?? page(Object.keys(attestations)));
  server.handle((request, response, url) => {
    if (url.pathname === `/v1/artifacts/sha256/${FILE_SHA}`)
      return respond(pages(url.searchParams.get('cursor') ?? ''), request, response, url);
    const match = /^\/v1\/builds\/([^/]+)\/attestation$/.exec(url.pathname);
    const answer = match ? attestations[match[1]!] : undefined;
    if (answer !== undefined) return respond(answer, request, response, url);
    sendJson(response, 404, { error: { code: 'NOT_FOUND', message: 'no consensus attestation' } });
  });
}

function respond(answer: Answer, ...args: Parameters<ScriptedHandler>): void {
  if (typeof answer === 'function') (answer as ScriptedHandler)(...args);
  else sendJson(args[1], 200, answer);
}

const verify = (pin: readonly string[] = pinHello, extra: readonly string[] = [], policy = policyPath) =>
  runCli([
    'verify',
    filePath,
    '--policy',
    policy,
    '--coordinator',
    server.url,
    '--timeout',
    '1',
    ...pin,
    ...extra,
  ]);

/** Not verified (exit 1 unless told), nothing claims VERIFIED, and the reason is printed. */
async function expectRefused(run: Promise<CliRun>, reason: string | RegExp, code = 1): Promise<CliRun> {
  const result = await run;
  const printed = `${result.stdout}${result.stderr}`;
  expect(result.code, printed).toBe(code);
  expect(result.stdout).not.toMatch(/^VERIFIED|: VERIFIED \(/m);
  if (typeof reason === 'string') expect(printed).toContain(reason);
  else expect(printed).toMatch(reason);
  return result;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbnet-lying-coordinator-'));
  server = await startScriptedHttpServer('127.0.0.1');
  otherHost = await startScriptedHttpServer('127.0.0.2');
  filePath = join(dir, 'hello.txt');
  await writeFile(filePath, FILE_BYTES);
  hello = parseManifest(await readFile(join(REPO_ROOT, 'samples', 'hello', 'manifest.json')));
  pinHello = ['--manifest-sha256', hello.manifestSha256];
  const operators = [
    { name: 'alpha', keys: [alpha, alpha2] },
    { name: 'beta', keys: [beta] },
    { name: 'gamma', keys: [gamma] },
  ];
  policyPath = join(dir, 'policy.json');
  await writeFile(
    policyPath,
    JSON.stringify(policyDocument({ operators, threshold: 2, expires: '2099-01-01T00:00:00Z' })),
  );
  coordinatorPinnedPolicyPath = join(dir, 'policy-with-coordinator.json');
  await writeFile(
    coordinatorPinnedPolicyPath,
    JSON.stringify(
      policyDocument({
        operators,
        threshold: 2,
        coordinatorKeys: [coordinatorKey],
        expires: '2099-01-01T00:00:00Z',
      }),
    ),
  );
  honest = [await envelope(alpha, 'alpha'), await envelope(beta, 'beta'), await envelope(gamma, 'gamma')];
});

afterEach(() => {
  server.requests.length = 0;
  otherHost.requests.length = 0;
});

afterAll(async () => {
  await server?.close();
  await otherHost?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the honest answer, for contrast', () => {
  it('three pinned operators rebuilt the pinned manifest: VERIFIED, saying what the file was built from', async () => {
    coordinatorServes({ attestations: { [BUILD]: await consensus(honest) } });
    const run = await verify();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`built from manifest sha256:${hello.manifestSha256}`);
    expect(run.stdout).toContain(`input hello_1.0.tar.gz sha256:${digestOf('source')}`);
    expect(run.stdout).toMatch(/^VERIFIED under your policy \(threshold 2\)/m);
  });
});

describe('forged and misattributed signatures', () => {
  it('forged signatures: every embedded envelope carries random signature bytes', async () => {
    const forged = honest.map((text) => {
      const parsed = JSON.parse(text) as { signatures: { keyid: string; sig: string }[] };
      parsed.signatures[0]!.sig = randomBytes(64).toString('base64');
      return JSON.stringify(parsed);
    });
    coordinatorServes({ attestations: { [BUILD]: await consensus(forged) } });
    await expectRefused(verify(), /not verified against the policy's operator keys \(SIGNATURE_INVALID/);
  });

  it('payloads rewritten after signing: what operators built swapped for the file the consumer holds', async () => {
    const built = [
      await envelope(alpha, 'alpha', { outputs: [{ path: 'hello.txt', sha256: OTHER_SHA, sizeBytes: 5 }] }),
      await envelope(beta, 'beta', { outputs: [{ path: 'hello.txt', sha256: OTHER_SHA, sizeBytes: 5 }] }),
    ];
    const rewritten = built.map((text) => rewritePayload(text, (p) => p.replaceAll(OTHER_SHA, FILE_SHA)));
    coordinatorServes({ attestations: { [BUILD]: await consensus(rewritten) } });
    await expectRefused(verify(), /SIGNATURE_INVALID/);
  });

  it('envelopes signed by keys the consumer never pinned, written in the pinned operators’ names', async () => {
    const strangers = [
      await envelope(newKey(), 'alpha'),
      await envelope(newKey(), 'beta'),
      await envelope(newKey(), 'gamma'),
    ];
    coordinatorServes({ attestations: { [BUILD]: await consensus(strangers) } });
    await expectRefused(verify(), "not verified against the policy's operator keys");
  });

  it("one operator's two pinned keys presented as two operators", async () => {
    const twice = [await envelope(alpha, 'alpha'), await envelope(alpha2, 'beta', { workerId: 'alpha-w2' })];
    coordinatorServes({ attestations: { [BUILD]: await consensus(twice) } });
    const run = await expectRefused(verify(), 'not counted: this operator already counts once');
    expect(run.stdout).toContain('counted: alpha)');
  });

  it('the same envelope embedded three times', async () => {
    const copies = [honest[0]!, honest[0]!, honest[0]!];
    const forged = await forgedConsensus(copies, (statement) => {
      statement.predicate[RBNET_CONSENSUS_EXTENSION].envelopes = copies;
      statement.predicate.inputAttestations = copies.map((text) => ({
        uri: `rbnet:envelope/${sha256Hex(text)}`,
        digest: { sha256: sha256Hex(text) },
      }));
    });
    coordinatorServes({ attestations: { [BUILD]: forged } });
    await expectRefused(verify(), 'the same envelope is embedded more than once; it counts once');
  });

  it("the coordinator's own key signing worker statements", async () => {
    const own = [await envelope(coordinatorKey, 'alpha'), await envelope(coordinatorKey, 'beta')];
    coordinatorServes({ attestations: { [BUILD]: await consensus(own) } });
    await expectRefused(
      verify(pinHello, [], coordinatorPinnedPolicyPath),
      "not verified against the policy's operator keys",
    );
  });

  it('a consensus attestation signed by a key other than the pinned coordinator key', async () => {
    coordinatorServes({
      attestations: { [BUILD]: await consensus(honest, { signer: rogueCoordinatorKey }) },
    });
    await expectRefused(
      verify(pinHello, [], coordinatorPinnedPolicyPath),
      'the policy pins coordinator keys and the consensus envelope is not signed by one',
    );
  });

  it('a consensus attestation with its signatures stripped', async () => {
    const stripped = { ...JSON.parse(await consensus(honest)), signatures: [] };
    coordinatorServes({ attestations: { [BUILD]: JSON.stringify(stripped) } });
    await expectRefused(
      verify(pinHello, [], coordinatorPinnedPolicyPath),
      /CONSENSUS_INVALID.*signatures is empty/,
    );
  });
});

describe('statements about something other than what the consumer pinned', () => {
  it('statements for another manifest (one that copies the file out of its inputs)', async () => {
    const evil = [
      await envelope(alpha, 'alpha', { manifest: EVIL }),
      await envelope(beta, 'beta', { manifest: EVIL }),
    ];
    coordinatorServes({
      attestations: { [BUILD]: await consensus(evil, { manifestSha256: EVIL.manifestSha256 }) },
    });
    await expectRefused(
      verify(),
      `built from manifest sha256:${EVIL.manifestSha256}, but you pinned manifest sha256:${hello.manifestSha256}`,
    );
  });

  it('a consensus attestation naming the pinned manifest over statements for another', async () => {
    const evil = [
      await envelope(alpha, 'alpha', { manifest: EVIL }),
      await envelope(beta, 'beta', { manifest: EVIL }),
    ];
    coordinatorServes({ attestations: { [BUILD]: await consensus(evil) } });
    await expectRefused(
      verify(),
      `does not satisfy your pin: built from manifest sha256:${EVIL.manifestSha256}`,
    );
  });

  it('statements whose outputs do not include the file (another file)', async () => {
    const others = [
      await envelope(alpha, 'alpha', { outputs: [MESSAGE] }),
      await envelope(beta, 'beta', { outputs: [MESSAGE] }),
    ];
    coordinatorServes({ attestations: { [BUILD]: await consensus(others) } });
    await expectRefused(verify(), `sha256:${FILE_SHA} is not among the 1 agreed output(s)`);
  });

  it('statements with a different digest under the same path', async () => {
    const outputs = [{ path: 'hello.txt', sha256: OTHER_SHA, sizeBytes: 5 }, MESSAGE];
    const others = [await envelope(alpha, 'alpha', { outputs }), await envelope(beta, 'beta', { outputs })];
    coordinatorServes({ attestations: { [BUILD]: await consensus(others) } });
    await expectRefused(verify(), `sha256:${FILE_SHA} is not among the 2 agreed output(s)`);
  });

  it('a Debian source uploaded by the maintainer, against an archive pin', async () => {
    const uploaded = { ...ARCHIVE_SOURCE, origin: 'uploaded' } as const;
    const debs = [
      await envelope(alpha, 'alpha', { manifest: HELLO_DEB, debianSource: uploaded }),
      await envelope(beta, 'beta', { manifest: HELLO_DEB, debianSource: uploaded }),
    ];
    coordinatorServes({
      attestations: { [BUILD]: await consensus(debs, { manifestSha256: HELLO_DEB.manifestSha256 }) },
    });
    await expectRefused(
      verify(PIN_DEBIAN),
      'source files uploaded by the submitter, not fetched from the signed archive: an uploaded source never satisfies an archive pin',
    );
  });

  it('a Debian source of another version than pinned', async () => {
    const older = { ...ARCHIVE_SOURCE, version: '2.10-2' };
    const debs = [
      await envelope(alpha, 'alpha', { manifest: HELLO_DEB, debianSource: older }),
      await envelope(beta, 'beta', { manifest: HELLO_DEB, debianSource: older }),
    ];
    coordinatorServes({
      attestations: { [BUILD]: await consensus(debs, { manifestSha256: HELLO_DEB.manifestSha256 }) },
    });
    await expectRefused(
      verify(PIN_DEBIAN),
      'built from Debian source hello 2.10-2, but you pinned hello 2.10-3',
    );
  });

  it('Debian statements that do not sign where their source came from, against an archive pin', async () => {
    const debs = [
      await envelope(alpha, 'alpha', { manifest: HELLO_DEB }),
      await envelope(beta, 'beta', { manifest: HELLO_DEB }),
    ];
    coordinatorServes({
      attestations: { [BUILD]: await consensus(debs, { manifestSha256: HELLO_DEB.manifestSha256 }) },
    });
    await expectRefused(
      verify(PIN_DEBIAN),
      'the statement does not say which Debian source it was built from',
    );
  });

  it('the archive pin met, for contrast: VERIFIED, and the output says the source came from the signed archive', async () => {
    const debs = [
      await envelope(alpha, 'alpha', { manifest: HELLO_DEB, debianSource: ARCHIVE_SOURCE }),
      await envelope(beta, 'beta', { manifest: HELLO_DEB, debianSource: ARCHIVE_SOURCE }),
    ];
    coordinatorServes({
      attestations: { [BUILD]: await consensus(debs, { manifestSha256: HELLO_DEB.manifestSha256 }) },
    });
    const run = await verify(PIN_DEBIAN);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'Debian source hello 2.10-3: fetched from the signed archive by each counted operator',
    );
  });

  it('results built in fetched environments, which the consumer’s policy does not count', async () => {
    const fetched = [
      await envelope(alpha, 'alpha', { origin: 'fetched' }),
      await envelope(beta, 'beta', { origin: 'fetched' }),
    ];
    coordinatorServes({ attestations: { [BUILD]: await consensus(fetched) } });
    await expectRefused(verify(), 'not counted: fetched environment');
  });

  it('results rebuilt from different inputs, presented as agreement', async () => {
    const mixed = [
      await envelope(alpha, 'alpha'),
      await envelope(beta, 'beta', {
        inputs: [{ path: 'hello_1.0.tar.gz', sha256: digestOf('other source') }],
      }),
    ];
    coordinatorServes({ attestations: { [BUILD]: await consensus(mixed) } });
    await expectRefused(verify(), 'recounted verdict is inputs-differ');
  });

  it('a signed dissent embedded while the coordinator claims reproducible', async () => {
    const dissent = await envelope(gamma, 'gamma', {
      outputs: [OUTPUTS[0]!, { ...MESSAGE, sha256: digestOf('another MESSAGE') }],
    });
    coordinatorServes({ attestations: { [BUILD]: await consensus([honest[0]!, honest[1]!, dissent]) } });
    const run = await expectRefused(verify(), 'recounted verdict is diverged');
    expect(run.stdout).toContain('the coordinator says reproducible');
  });

  it('a consensus attestation claiming threshold 1 over a single operator', async () => {
    coordinatorServes({ attestations: { [BUILD]: await consensus([honest[0]!], { threshold: 1 }) } });
    await expectRefused(verify(), 'recounted verdict is insufficient-operators');
  });
});

describe('job binding', () => {
  it('an old envelope re-bound to a fresh job by editing its job id and nonce', async () => {
    const rebound = rewritePayload(honest[1]!, (payload) =>
      payload
        .replace(/"nonce":"[^"]*"/, '"nonce":"fresh-nonce"')
        .replace(/"jobId":"[^"]*"/, '"jobId":"fresh-job"'),
    );
    coordinatorServes({ attestations: { [BUILD]: await consensus([honest[0]!, rebound]) } });
    await expectRefused(
      verify(),
      `not counted (keyid ${beta.keyid}): not verified against the policy's operator keys (SIGNATURE_INVALID`,
    );
  });

  it('a statement whose invocation id is not its job id, under a valid signature', async () => {
    const statement = structuredClone(
      composeRebuildStatement(rebuildFacts({ operator: 'beta', manifest: hello, outputs: OUTPUTS })),
    ) as unknown as { predicate: { runDetails: { metadata: { invocationId: string } } } };
    statement.predicate.runDetails.metadata.invocationId = 'some-other-job';
    const mismatched = await signedEnvelope(beta, Buffer.from(JSON.stringify(statement)));
    coordinatorServes({ attestations: { [BUILD]: await consensus([honest[0]!, mismatched]) } });
    await expectRefused(verify(), /STATEMENT_INVALID.*invocationId "some-other-job" differs from jobId/);
  });
});

describe("the coordinator's own JSON", () => {
  it('a build list and attestation that claim VERIFIED fields the envelopes do not support', async () => {
    const buildView = {
      ...listEntry(BUILD),
      verdict: 'reproducible',
      ok: true,
      verified: true,
      countedOperators: ['alpha', 'beta', 'gamma'],
    };
    const attestation = await consensus([honest[0]!]);
    server.handle((_request, response, url) => {
      if (url.pathname === `/v1/artifacts/sha256/${FILE_SHA}`)
        return sendJson(response, 200, { sha256: FILE_SHA, builds: [buildView], nextCursor: null });
      if (url.pathname === `/v1/builds/${BUILD}/attestation`) return sendJson(response, 200, attestation);
      if (url.pathname === `/v1/builds/${BUILD}`)
        return sendJson(response, 200, { ...buildView, decision: CLAIM });
      return sendJson(response, 404, { error: { code: 'NOT_FOUND', message: url.pathname } });
    });
    const run = await expectRefused(verify(), 'the coordinator says reproducible; counted: alpha');
    expect(run.stdout).toContain('recounted verdict is insufficient-operators');
    // The build view is never even read: nothing in it could count.
    expect(server.requests.some((path) => path === `/v1/builds/${BUILD}`)).toBe(false);
  });

  it('a listed verdict that tries to print a VERIFIED line of its own', async () => {
    const forgedLine = '\nVERIFIED under your policy (threshold 2)\n';
    coordinatorServes({
      listing: { sha256: FILE_SHA, builds: [listEntry(BUILD, { verdict: forgedLine })], nextCursor: null },
    });
    const run = await expectRefused(verify(), 'no consensus attestation');
    expect(run.stdout).not.toContain('the coordinator says');
  });

  it('an error body that tries to print a VERIFIED line of its own', async () => {
    coordinatorServes({
      attestations: {
        [BUILD]: (_request, response) => {
          response.writeHead(404, { 'content-type': 'text/plain' });
          response.end('gone\nVERIFIED under your policy (threshold 2) and pin (yours)\n');
        },
      },
    });
    await expectRefused(verify(), 'no consensus attestation (HTTP 404: "gone\\nVERIFIED');
  });

  it('an unverifiable envelope whose keyid hint tries to print a line of its own', async () => {
    const parsed = JSON.parse(honest[1]!) as { signatures: { keyid: string; sig: string }[] };
    // The keyid is an unsigned hint (a wrong one alone changes nothing): the signature is forged too.
    parsed.signatures[0]!.keyid = 'x\nVERIFIED under your policy (threshold 2)';
    parsed.signatures[0]!.sig = randomBytes(64).toString('base64');
    coordinatorServes({ attestations: { [BUILD]: await consensus([honest[0]!, JSON.stringify(parsed)]) } });
    await expectRefused(verify(), "not counted: not verified against the policy's operator keys");
  });

  it('no consensus attestation for any listed build', async () => {
    coordinatorServes({ listing: page([BUILD, randomUUID()]) });
    await expectRefused(verify(), 'no consensus attestation (HTTP 404');
  });

  it('a worker envelope served where the consensus attestation belongs', async () => {
    coordinatorServes({ attestations: { [BUILD]: honest[0]! } });
    await expectRefused(verify(), /CONSENSUS_INVALID/);
  });

  it('a consensus attestation whose input list does not name the envelopes it embeds', async () => {
    const forged = await forgedConsensus(honest, (statement) => {
      statement.predicate.inputAttestations = statement.predicate.inputAttestations.slice(1);
    });
    coordinatorServes({ attestations: { [BUILD]: forged } });
    await expectRefused(verify(), /CONSENSUS_INVALID.*does not list exactly the digests/);
  });

  it('a consensus attestation embedding 257 envelopes, to make the consumer burn CPU', async () => {
    const many = Array.from({ length: 257 }, () => honest[0]!);
    const forged = await forgedConsensus([honest[0]!], (statement) => {
      statement.predicate[RBNET_CONSENSUS_EXTENSION].envelopes = many;
    });
    coordinatorServes({ attestations: { [BUILD]: forged } });
    await expectRefused(verify(), /CONSENSUS_INVALID.*over the limit of 256/);
  });
});

describe('the list of builds', () => {
  it('the real build hidden behind 250 spam builds on the third page: still found, VERIFIED', async () => {
    const spam = Array.from({ length: 250 }, () => randomUUID());
    const ids = [...spam, BUILD];
    coordinatorServes({
      pages: (cursor) => {
        const start = cursor === '' ? 0 : Number(cursor.slice(1));
        const next = start + 100 < ids.length ? `p${start + 100}` : null;
        return page(ids.slice(start, start + 100), next);
      },
      attestations: { [BUILD]: await consensus(honest) },
    });
    const run = await verify();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(server.requests.filter((p) => p.startsWith('/v1/artifacts/'))).toHaveLength(3);
    expect(run.stdout).toContain(`build ${BUILD}: VERIFIED`);
  });

  it('a truncated list: the second page fails', async () => {
    coordinatorServes({
      pages: (cursor) =>
        cursor === ''
          ? page([randomUUID()], 'p2')
          : (_request, response) => sendJson(response, 500, { error: { code: 'INTERNAL', message: 'gone' } }),
    });
    await expectRefused(
      verify(),
      /LISTING_INVALID.*page 2 of the builds listing .*HTTP 500; the list is incomplete/,
    );
  });

  it('a list that pages in circles (a cursor given twice)', async () => {
    coordinatorServes({ pages: () => page([randomUUID()], 'c1') });
    await expectRefused(verify(), /cursor c1 was already given; the coordinator is paging in circles/);
  });

  it('an empty page that says more follow', async () => {
    coordinatorServes({ pages: (cursor) => page([], `c${cursor.length}`) });
    await expectRefused(verify(), 'an empty page says more follow');
  });

  it('more builds than --max-builds', async () => {
    coordinatorServes({ listing: page(Array.from({ length: 6 }, () => randomUUID())) });
    await expectRefused(verify(pinHello, ['--max-builds', '5']), /TOO_MANY_BUILDS.*more than 5 builds/);
  });

  it('a list answering for another digest', async () => {
    coordinatorServes({ listing: page([BUILD], null, OTHER_SHA) });
    await expectRefused(verify(), `but the question was about ${FILE_SHA}`);
  });

  it('a build id that is a path, to steer the consumer to another URL', async () => {
    coordinatorServes({
      listing: { sha256: FILE_SHA, builds: [{ buildId: `../../cas/sha256/${OTHER_SHA}` }], nextCursor: null },
    });
    await expectRefused(verify(), 'not a build id (a UUID)');
    expect(server.requests.some((p) => p.includes('/cas/'))).toBe(false);
  });

  it('a list with duplicate JSON keys (two readers, two meanings)', async () => {
    coordinatorServes({
      listing: `{"sha256":"${FILE_SHA}","builds":[],"builds":[${JSON.stringify(listEntry(BUILD))}],"nextCursor":null}`,
    });
    await expectRefused(verify(), /LISTING_INVALID.*not strict JSON.*duplicate/i);
  });

  it('an HTML page with status 200 instead of a list', async () => {
    coordinatorServes({ listing: '<html><body>maintenance</body></html>' });
    await expectRefused(verify(), /LISTING_INVALID.*not strict JSON/);
  });

  it('an empty list: no build made this file', async () => {
    coordinatorServes({ listing: page([]) });
    await expectRefused(verify(), 'no build on this coordinator produced this file');
  });
});

describe('transport', () => {
  it('a redirect of the list to another host', async () => {
    coordinatorServes({
      listing: (_request, response) => {
        response.writeHead(302, { location: `${otherHost.url}/v1/artifacts/sha256/${FILE_SHA}` });
        response.end();
      },
    });
    await expectRefused(verify(), /REDIRECT_REFUSED.*302 redirecting to http:\/\/127\.0\.0\.2/);
    expect(otherHost.requests).toEqual([]);
  });

  it('a redirect of an attestation to another host', async () => {
    coordinatorServes({
      attestations: {
        [BUILD]: (_request, response) => {
          response.writeHead(307, { location: `${otherHost.url}/attestation` });
          response.end();
        },
      },
    });
    await expectRefused(verify(), /no consensus attestation: \[REDIRECT_REFUSED\]/);
    expect(otherHost.requests).toEqual([]);
  });

  it('a huge list page (5 MiB, declared)', async () => {
    coordinatorServes({ listing: `{"sha256":"${FILE_SHA}","pad":"${'x'.repeat(5 * 1024 * 1024)}"}` });
    await expectRefused(verify(), /RESPONSE_TOO_LARGE.*larger than 4194304 bytes/);
  });

  it('a huge attestation (65 MiB, streamed without a length): cut off at 64 MiB', async () => {
    coordinatorServes({
      attestations: {
        [BUILD]: (_request, response) => streamZeros(response, 65 * 1024 * 1024),
      },
    });
    await expectRefused(
      verify(),
      /no consensus attestation: \[RESPONSE_TOO_LARGE\].*larger than 67108864 bytes/,
    );
  });

  it('a slow answer: the list never comes', async () => {
    coordinatorServes({ listing: () => undefined });
    await expectRefused(verify(), /COORDINATOR_TIMEOUT.*no complete answer within 1000 ms/);
  });

  it('a slow body: the attestation starts and never ends', async () => {
    coordinatorServes({
      attestations: {
        [BUILD]: (_request, response) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.write('{"payloadType":');
        },
      },
    });
    await expectRefused(verify(), /no consensus attestation: \[COORDINATOR_TIMEOUT\]/);
  });
});

/** Writes `totalBytes` of zeros in 1 MiB chunks, respecting backpressure, until done or the client leaves. */
function streamZeros(response: ServerResponse, totalBytes: number): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let sent = 0;
  const pump = () => {
    while (sent < totalBytes && !response.destroyed) {
      sent += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', pump);
    }
    if (!response.destroyed) response.end();
  };
  pump();
}

describe('rbnet attestation verify on an envelope the coordinator served', () => {
  let alphaKeyPath: string;
  const attestationVerify = async (envelopeText: string, ...extra: string[]) => {
    const path = join(dir, `envelope-${randomUUID()}.json`);
    await writeFile(path, envelopeText);
    return runCli(['attestation', 'verify', path, '--key', alphaKeyPath, ...extra]);
  };

  beforeAll(async () => {
    alphaKeyPath = join(dir, 'alpha.pub');
    await writeFile(alphaKeyPath, alpha.publicKeyPem);
  });

  it('an envelope signed by a key the consumer did not give', async () => {
    await expectRefused(attestationVerify(honest[1]!), /\[SIGNATURE_INVALID\]/);
  });

  it('a payload altered after signing', async () => {
    await expectRefused(
      attestationVerify(rewritePayload(honest[0]!, (p) => p.replaceAll(FILE_SHA, OTHER_SHA))),
      /\[SIGNATURE_INVALID\]/,
    );
  });

  it('a statement for another manifest than pinned', async () => {
    await expectRefused(
      attestationVerify(
        await envelope(alpha, 'alpha', { manifest: EVIL }),
        '--manifest',
        join(REPO_ROOT, 'samples', 'hello', 'manifest.json'),
      ),
      `[PIN_UNSATISFIED]: the signature verified, but the statement built from manifest sha256:${EVIL.manifestSha256}`,
    );
  });

  it('an uploaded Debian source against an archive pin', async () => {
    const uploaded = await envelope(alpha, 'alpha', {
      manifest: HELLO_DEB,
      debianSource: { ...ARCHIVE_SOURCE, origin: 'uploaded' },
    });
    await expectRefused(
      attestationVerify(uploaded, ...PIN_DEBIAN),
      /\[PIN_UNSATISFIED\].*uploaded by the submitter/,
    );
  });

  it('an envelope whose payload type was changed', async () => {
    const retyped = JSON.stringify({ ...JSON.parse(honest[0]!), payloadType: 'text/plain' });
    await expectRefused(attestationVerify(retyped), /\[PAYLOAD_TYPE\]/);
  });

  it('an envelope file over 16 MiB', async () => {
    await expectRefused(attestationVerify(' '.repeat(16 * 1024 * 1024 + 1)), /\[FILE_TOO_LARGE\]/);
  });

  it('the archive pin met, for contrast: verified, saying the source came from the signed archive', async () => {
    const fromArchive = await envelope(alpha, 'alpha', { manifest: HELLO_DEB, debianSource: ARCHIVE_SOURCE });
    const run = await attestationVerify(fromArchive, ...PIN_DEBIAN);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Debian source hello 2.10-3: fetched from the signed archive');
    expect(run.stdout).toContain('satisfies your pin: Debian source hello 2.10-3 from the archive');
  });
});
