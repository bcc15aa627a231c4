// Benchmark: what gating installs on rebuilder links costs apt. The same `apt-get install
// --download-only` of 4 packages from the same signed archive, once through `intoto://` with 3
// rebuilder URLs (k=3) and once through plain `http://` (the baseline), in the same run. The
// rebuilders are a static server, so this measures the client (apt-transport-in-toto and in-toto
// verification); the coordinator's endpoint is measured by apt-metadata.bench.ts.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { signRebuildLink } from '../services/apt/in-toto-rebuild-link.ts';
import {
  createAptIntotoWorld,
  createScenario,
  linkKey,
  type OperatorLinks,
  type Scenario,
  startStaticRebuilder,
  type TestDeb,
} from '../test/support/apt-intoto-harness.ts';
import { formatRow, median } from './bench-support.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const world = await createAptIntotoWorld();
const closers: (() => Promise<void>)[] = [];

async function clearCache(scenario: Scenario): Promise<void> {
  const dir = join(scenario.dir, 'var/cache/apt/archives');
  for (const name of await readdir(dir)) if (name.endsWith('.deb')) await rm(join(dir, name));
}

async function timedInstall(scenario: Scenario, packages: readonly string[]): Promise<number> {
  await clearCache(scenario);
  const run = await scenario.runApt([
    'install',
    '--download-only',
    '--no-install-recommends',
    '-y',
    ...packages,
  ]);
  if (run.exitCode !== 0) throw new Error(`apt-get failed:\n${run.output}`);
  if ((await scenario.downloaded()).length !== packages.length)
    throw new Error('apt downloaded the wrong set');
  return run.durationMs;
}

try {
  const debs = world.debs;
  const sources: Record<string, readonly TestDeb[]> = {
    hello: [debs.hello!],
    epochpkg: [debs.epoch!],
    multi: [debs.multiBin!, debs.multiData!],
  };
  const operators = await Promise.all(['alpha', 'beta', 'gamma'].map((name) => world.newOperatorKey(name)));
  const served = new Map<string, OperatorLinks>();
  for (const operator of operators) {
    const links = new Map<string, Awaited<ReturnType<typeof signRebuildLink>>>();
    for (const products of Object.values(sources)) {
      const link = await signRebuildLink(
        products.map((deb) => ({ aptFileName: deb.aptFileName, sha256: deb.sha256 })),
        operator.signer,
      );
      for (const deb of products) links.set(linkKey(deb.name, deb.version), link);
    }
    served.set(operator.name, links);
  }
  const rebuilder = await startStaticRebuilder(served);
  closers.push(() => rebuilder.close());
  const options = {
    archive: 'good',
    threshold: 3,
    operators,
    rebuilderUrls: operators.map((o) => rebuilder.baseUrl(o.name)),
  };
  const gated = await createScenario(world, { ...options, name: 'bench-intoto' });
  const plain = await createScenario(world, { ...options, name: 'bench-http' });
  // The baseline is the same archive fetched by apt's own http method, without links.
  const list = join(plain.dir, 'etc/apt/sources.list.d/rbnet-intoto.list');
  await writeFile(list, (await readFile(list, 'utf8')).replaceAll('intoto://', 'http://'));
  for (const scenario of [gated, plain]) {
    const update = await scenario.runApt(['update']);
    if (update.exitCode !== 0) throw new Error(`apt-get update failed:\n${update.output}`);
  }
  const packages = ['hello', 'epochpkg', 'multi-bin', 'multi-data'];
  const times = { http: [] as number[], intoto: [] as number[] };
  for (let run = 0; run < RUNS; run += 1) {
    times.http.push(await timedInstall(plain, packages));
    times.intoto.push(await timedInstall(gated, packages));
  }
  const http = median(times.http);
  const intoto = median(times.intoto);
  console.log(
    `## apt with 3 rebuilder URLs (k=3) vs plain http, ${packages.length} packages, ${RUNS} runs, medians\n`,
  );
  console.log('| apt-get install --download-only | ms | ratio | added ms per package |');
  console.log('|---|---|---|---|');
  console.log(formatRow(['http:// (baseline)', http, '1.00×', '—']));
  console.log(
    formatRow([
      'intoto:// with 3 rebuilders',
      intoto,
      `${(intoto / http).toFixed(2)}×`,
      (intoto - http) / packages.length,
    ]),
  );
  console.log(`\n${JSON.stringify(times)}`);
} finally {
  for (const close of closers) await close();
  await world.close();
}
