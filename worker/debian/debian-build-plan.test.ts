import { describe, expect, it } from 'vitest';
import type { Sha256Hex } from '../../services/digest.ts';
import {
  binarySelectionFlag,
  type DebianBuildRecord,
  planDebianBuild,
  shellQuote,
} from './debian-build-plan.ts';

const IMAGE = 'a'.repeat(64) as Sha256Hex;
const record: DebianBuildRecord = {
  sourceName: 'hello',
  version: '2.10-3',
  upstreamVersion: '2.10',
  hostArchitecture: 'amd64',
  buildsArchAny: true,
  buildsArchAll: false,
  buildPath: '/build/reproducible-path/hello-2.10',
  environment: [
    ['DEB_BUILD_OPTIONS', 'parallel=2 nocheck'],
    ['LANG', 'C.UTF-8'],
    ['SOURCE_DATE_EPOCH', '1672068600'],
  ],
  binaryOnlyChanges: undefined,
  buildDateEpochSeconds: 1_700_000_000,
};
const sources = [{ name: 'hello_2.10-3.dsc', sha256: 'b'.repeat(64) as Sha256Hex }];

function plan(overrides: Partial<DebianBuildRecord> = {}) {
  return planDebianBuild({
    record: { ...record, ...overrides },
    sourceFiles: sources,
    dscName: 'hello_2.10-3.dsc',
    imageSha256: IMAGE,
    timeLimitSeconds: 600,
  });
}

describe('planDebianBuild', () => {
  it('unpacks at exactly the recorded Build-Path and builds from its parent, as uid 1000, with no network of its own', () => {
    const { manifest, generatedFiles } = plan();
    expect(manifest.environment.buildPath).toBe('/build/reproducible-path');
    expect(manifest.environment.uid).toBe(1000);
    expect(manifest.environment.sourceDateEpoch).toBe(1672068600);
    const script = generatedFiles.get('rbnet-debian-build.sh')!;
    expect(script).toContain("dpkg-source --no-check --no-copy -x 'hello_2.10-3.dsc' 'hello-2.10'");
    expect(script).toContain("cd '/build/reproducible-path'");
    expect(script).toContain('--root-command=fakeroot --build=any');
    expect(manifest.inputs.map((i) => i.path)).toEqual(['hello_2.10-3.dsc', 'rbnet-debian-build.sh']);
  });

  it('exports the recorded Environment exactly and unsets what the runner sets but the record lacks', () => {
    const script = plan().generatedFiles.get('rbnet-debian-build.sh')!;
    expect(script).toContain("export DEB_BUILD_OPTIONS='parallel=2 nocheck'");
    expect(script).toContain("export LANG='C.UTF-8'");
    expect(script).toContain('unset LC_ALL');
    expect(script).toContain('unset TZ');
    expect(script).not.toContain('unset LANG');
    expect(script).not.toContain('unset SOURCE_DATE_EPOCH');
  });

  it('quotes hostile values so they stay data', () => {
    expect(shellQuote("a'b; rm -rf /")).toBe("'a'\\''b; rm -rf /'");
    const script = plan({
      environment: [['DEB_BUILD_OPTIONS', "x'; touch /tmp/pwned; '"]],
    }).generatedFiles.get('rbnet-debian-build.sh')!;
    expect(script).toContain("export DEB_BUILD_OPTIONS='x'\\''; touch /tmp/pwned; '\\'''");
  });

  it('puts a binNMU entry on top of debian/changelog', () => {
    const entry =
      'hello (2.10-3+b1) sid; urgency=low, binary-only=yes\n\n  * Rebuild.\n\n -- b <b@x>  Sun, 02 Oct 2022 12:20:35 +0000';
    const { generatedFiles, manifest } = plan({ version: '2.10-3+b1', binaryOnlyChanges: entry });
    expect(generatedFiles.get('rbnet-binnmu-changelog')).toBe(`${entry}\n`);
    expect(generatedFiles.get('rbnet-debian-build.sh')).toContain(
      'cat ../rbnet-binnmu-changelog; echo; cat debian/changelog',
    );
    expect(manifest.inputs.map((i) => i.path)).toContain('rbnet-binnmu-changelog');
  });

  it('selects binaries from Architecture: any, all, or both', () => {
    expect(binarySelectionFlag({ buildsArchAny: true, buildsArchAll: false })).toBe('--build=any');
    expect(binarySelectionFlag({ buildsArchAny: false, buildsArchAll: true })).toBe('--build=all');
    expect(binarySelectionFlag({ buildsArchAny: true, buildsArchAll: true })).toBe('--build=binary');
  });

  it('without a recorded Build-Path, unpacks where Debian buildds do', () => {
    const script = plan({ buildPath: undefined }).generatedFiles.get('rbnet-debian-build.sh')!;
    expect(script).toContain("cd '/build/reproducible-path'");
    expect(script).toContain("'hello-2.10'");
  });
});
