// Network namespaces for tests that need separate hosts on one machine: a bridge in the root
// namespace, one namespace per "host" joined to it by a veth pair, addresses from one private /24
// that nothing else here uses. Every address this module assigns is checked against that /24, and
// everything it creates carries the test process's pid in its name, so a later run can remove what
// a killed run left behind without touching anything else.
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every address the namespace tests use. Nothing outside SUBNET is ever assigned or contacted. */
export const TEST_NET = Object.freeze({
  /** The one /24 these tests own. */
  subnet: '10.231.77.0/24',
  prefixLength: 24,
  /** The root namespace's side: the bridge; services the namespaced hosts reach listen here. */
  bridgeAddress: '10.231.77.1',
  /** One address per namespaced host, by key. */
  hostAddresses: Object.freeze({ a: '10.231.77.2', b: '10.231.77.3' }),
});

export type HostKey = keyof typeof TEST_NET.hostAddresses;

const SUBNET_PREFIX = '10.231.77.';
const NS_PREFIX = 'rbnet-t-';
/** Interface names are at most 15 bytes: `rbt` + pid (≤ 7 digits) + a short suffix. */
const LINK_PREFIX = 'rbt';

/** Throws unless ADDRESS is a host address of TEST_NET.subnet (10.231.77.1 to .254). */
export function assertTestAddress(address: string): string {
  const match = /^10\.231\.77\.(\d{1,3})$/.exec(address);
  const last = match ? Number(match[1]) : Number.NaN;
  if (!address.startsWith(SUBNET_PREFIX) || !(last >= 1 && last <= 254)) {
    throw new Error(
      `refusing to use ${address}: outside ${TEST_NET.subnet}, the only subnet these tests own`,
    );
  }
  return address;
}

/** Runs a command (never through a shell); rejects with its stderr when it fails. */
export async function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, [...args], { env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`${command} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
}

async function ip(...args: string[]): Promise<string> {
  return run('ip', args);
}

/** True while a process with PID exists (names carrying a dead pid are left-overs). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function disableIpv6(sysctlPath: string): Promise<void> {
  // IPv6 autoconfiguration would send router solicitations and MLD reports on our links.
  await writeFile(sysctlPath, '1').catch(() => undefined);
}

/**
 * Removes namespaces (`rbnet-t-<pid>-*`) and links (`rbt<pid>*`) whose test process is gone: what a
 * run killed before its cleanup left behind. Never touches a name of a live process.
 */
export async function removeStaleTestNetworks(): Promise<void> {
  const namespaces = await readdir('/run/netns').catch(() => [] as string[]);
  for (const name of namespaces) {
    const match = new RegExp(`^${NS_PREFIX}(\\d+)-[a-z]+$`).exec(name);
    if (match && !pidAlive(Number(match[1]))) await ip('netns', 'del', name).catch(() => undefined);
  }
  const links = (await ip('-o', 'link', 'show')).split('\n');
  for (const line of links) {
    const match = new RegExp(`^\\d+: (${LINK_PREFIX}(\\d+)[a-z]+)[@:]`).exec(line);
    if (match && !pidAlive(Number(match[2]))) await ip('link', 'del', match[1]!).catch(() => undefined);
  }
}

/** Throws when any interface of the root namespace already has an address in TEST_NET.subnet. */
export async function assertSubnetUnused(): Promise<void> {
  const used = (await ip('-o', '-4', 'addr', 'show', 'to', TEST_NET.subnet)).trim();
  if (used)
    throw new Error(`${TEST_NET.subnet} is already in use on this host, refusing to touch it:\n${used}`);
}

export interface TestHost {
  readonly key: HostKey;
  /** The namespace's name, for `ip netns exec`. */
  readonly namespace: string;
  readonly address: string;
  /** The root-namespace end of its veth pair (enslaved to the bridge). */
  readonly hostLink: string;
}

export interface TestNetwork {
  readonly bridge: string;
  readonly bridgeAddress: string;
  readonly hosts: Readonly<Record<HostKey, TestHost>>;
  /** argv that runs COMMAND inside KEY's namespace (for spawn). */
  execArgv(key: HostKey, command: readonly string[]): string[];
  /** Runs a command inside KEY's namespace and returns its stdout. */
  exec(key: HostKey, command: readonly string[]): Promise<string>;
  /** Takes KEY's link down at the root side: the host drops off the network, as if unplugged. */
  linkDown(key: HostKey): Promise<void>;
  linkUp(key: HostKey): Promise<void>;
  /** Deletes the namespaces (their veth pairs go with them) and the bridge; safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * Creates a bridge with TEST_NET.bridgeAddress and one namespace per key of TEST_NET.hostAddresses,
 * each with `lo` up and a veth pair to the bridge. A failure half way removes what it created.
 */
export async function createTestNetwork(tag: number = process.pid): Promise<TestNetwork> {
  if (!Number.isSafeInteger(tag) || tag <= 0 || tag > 9_999_999) throw new Error(`bad tag ${tag}`);
  await removeStaleTestNetworks();
  await assertSubnetUnused();
  const bridge = `${LINK_PREFIX}${tag}br`;
  const bridgeAddress = assertTestAddress(TEST_NET.bridgeAddress);
  const hosts = {} as Record<HostKey, TestHost>;
  for (const key of Object.keys(TEST_NET.hostAddresses) as HostKey[]) {
    hosts[key] = {
      key,
      namespace: `${NS_PREFIX}${tag}-${key}`,
      address: assertTestAddress(TEST_NET.hostAddresses[key]),
      hostLink: `${LINK_PREFIX}${tag}${key}`,
    };
  }
  let destroyed = false;
  const network: TestNetwork = {
    bridge,
    bridgeAddress,
    hosts,
    execArgv: (key, command) => ['ip', 'netns', 'exec', hosts[key].namespace, ...command],
    async exec(key, command) {
      const [cmd, ...args] = network.execArgv(key, command);
      return run(cmd!, args);
    },
    async linkDown(key) {
      await ip('link', 'set', hosts[key].hostLink, 'down');
    },
    async linkUp(key) {
      await ip('link', 'set', hosts[key].hostLink, 'up');
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      const problems: string[] = [];
      for (const host of Object.values(hosts)) {
        // Deleting the namespace destroys its end of the pair, and with it ours.
        await ip('netns', 'del', host.namespace).catch((e: Error) => {
          if (!/No such file|not exist/i.test(e.message)) problems.push(e.message);
        });
        await ip('link', 'del', host.hostLink).catch(() => undefined);
      }
      await ip('link', 'del', bridge).catch((e: Error) => {
        if (!/Cannot find device|not exist/i.test(e.message)) problems.push(e.message);
      });
      if (problems.length > 0) throw new Error(`test network cleanup: ${problems.join('; ')}`);
    },
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await disableIpv6(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`);
    await ip('addr', 'add', `${bridgeAddress}/${TEST_NET.prefixLength}`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (const host of Object.values(hosts)) {
      await ip('netns', 'add', host.namespace);
      await network.exec(host.key, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      await network.exec(host.key, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
      await ip('link', 'add', host.hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      await disableIpv6(`/proc/sys/net/ipv6/conf/${host.hostLink}/disable_ipv6`);
      await ip('link', 'set', host.hostLink, 'master', bridge);
      await ip('link', 'set', host.hostLink, 'up');
      await network.exec(host.key, ['ip', 'link', 'set', 'lo', 'up']);
      await network.exec(host.key, [
        'ip',
        'addr',
        'add',
        `${host.address}/${TEST_NET.prefixLength}`,
        'dev',
        'eth0',
      ]);
      await network.exec(host.key, ['ip', 'link', 'set', 'eth0', 'up']);
    }
    // The root namespace must reach each host through our bridge and nowhere else.
    for (const host of Object.values(hosts)) {
      const route = await ip('-o', 'route', 'get', host.address);
      if (!route.includes(`dev ${bridge}`))
        throw new Error(`route to ${host.address} is not via ${bridge}: ${route}`);
    }
  } catch (error) {
    await network.destroy().catch(() => undefined);
    throw error;
  }
  return network;
}
