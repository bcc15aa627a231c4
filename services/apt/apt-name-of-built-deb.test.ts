// aptNameOfBuiltDeb: apt's file name for a .deb dpkg-buildpackage wrote, epoch restored from the .buildinfo.
import { describe, expect, it } from 'vitest';
import { type ParsedBuildinfo, parseBuildinfo } from '../debian/buildinfo.ts';
import { fixtureFile, helloBuildinfoParts, renderBuildinfoFixture } from '../debian/buildinfo-fixture.ts';
import { aptNameOfBuiltDeb } from './apt-file-name.ts';

/** A parsed .buildinfo of source `pkg` whose Version is `version`, listing `debs`. */
function buildinfoOf(
  version: string,
  debs: readonly string[],
  binNmu?: { sourceVersion: string; changes: string },
): ParsedBuildinfo {
  return parseBuildinfo(
    new TextEncoder().encode(
      renderBuildinfoFixture({
        ...helloBuildinfoParts(),
        source: 'pkg',
        sourceVersion: binNmu?.sourceVersion,
        binaries: debs.map((deb) => deb.split('_')[0]!),
        architectures: [...new Set(debs.map((deb) => deb.slice(deb.lastIndexOf('_') + 1, -'.deb'.length)))],
        version,
        binaryOnlyChanges:
          binNmu === undefined
            ? undefined
            : [`pkg (${version}) unstable; urgency=low`, '', `  * ${binNmu.changes}`],
        files: debs.map((deb) => fixtureFile(deb, `stand-in for ${deb}\n`)),
      }),
    ),
  );
}

describe('aptNameOfBuiltDeb', () => {
  it('keeps a version without an epoch as it is', () => {
    const buildinfo = buildinfoOf('2.10-3', ['pkg_2.10-3_amd64.deb', 'pkg-doc_2.10-3_all.deb']);
    expect(aptNameOfBuiltDeb('pkg_2.10-3_amd64.deb', buildinfo.version.text)).toBe('pkg_2.10-3_amd64.deb');
    expect(aptNameOfBuiltDeb('pkg-doc_2.10-3_all.deb', buildinfo.version.text)).toBe(
      'pkg-doc_2.10-3_all.deb',
    );
  });

  it("restores the .buildinfo's epoch, as %3a, on a file whose version is the version without it", () => {
    const buildinfo = buildinfoOf('1:2.0-1', ['pkg_2.0-1_amd64.deb', 'pkg-data_2.0-1_all.deb']);
    expect(buildinfo.version.text).toBe('1:2.0-1');
    expect(aptNameOfBuiltDeb('pkg_2.0-1_amd64.deb', buildinfo.version.text)).toBe('pkg_1%3a2.0-1_amd64.deb');
    expect(aptNameOfBuiltDeb('pkg-data_2.0-1_all.deb', buildinfo.version.text)).toBe(
      'pkg-data_1%3a2.0-1_all.deb',
    );
  });

  it("leaves a binary with its own version alone: the epoch is only the source's", () => {
    const buildinfo = buildinfoOf('1:2.0-1', ['pkg_2.0-1_amd64.deb', 'libpkg3_3.1.4+2.0-1_amd64.deb']);
    expect(aptNameOfBuiltDeb('libpkg3_3.1.4+2.0-1_amd64.deb', buildinfo.version.text)).toBe(
      'libpkg3_3.1.4+2.0-1_amd64.deb',
    );
    // Not a prefix or suffix match either.
    expect(aptNameOfBuiltDeb('pkg_2.0-10_amd64.deb', buildinfo.version.text)).toBe('pkg_2.0-10_amd64.deb');
    expect(aptNameOfBuiltDeb('pkg_12.0-1_amd64.deb', buildinfo.version.text)).toBe('pkg_12.0-1_amd64.deb');
  });

  it('keeps the binNMU suffix, with and without an epoch', () => {
    const plain = buildinfoOf('2.10-3+b1', ['pkg_2.10-3+b1_amd64.deb'], {
      sourceVersion: '2.10-3',
      changes: 'Rebuild against libfoo2.',
    });
    expect(plain.binNmu).toBe(1);
    expect(aptNameOfBuiltDeb('pkg_2.10-3+b1_amd64.deb', plain.version.text)).toBe('pkg_2.10-3+b1_amd64.deb');

    const epoch = buildinfoOf('1:2.0-1+b1', ['pkg_2.0-1+b1_amd64.deb'], {
      sourceVersion: '1:2.0-1',
      changes: 'Rebuild against libfoo2.',
    });
    expect(aptNameOfBuiltDeb('pkg_2.0-1+b1_amd64.deb', epoch.version.text)).toBe(
      'pkg_1%3a2.0-1+b1_amd64.deb',
    );
  });

  it('refuses a file name that is not name_version_arch.deb', () => {
    const buildinfo = buildinfoOf('2.10-3', ['pkg_2.10-3_amd64.deb']);
    for (const name of [
      'pkg_2.10-3_amd64.udeb',
      'pkg_2.10-3.deb',
      'debs/pkg_2.10-3_amd64.deb',
      'Pkg_2.10-3_amd64.deb',
    ]) {
      expect(() => aptNameOfBuiltDeb(name, buildinfo.version.text), name).toThrow();
    }
  });
});
