// The rules that relate a manifest's paths to each other: inputs are files (unique, none inside
// another), outputs stay apart from inputs, and no published output is handed in as an input.
import type { ClaimedOutput, ManifestInput } from './manifest.ts';
import { invalid, preview } from './manifest-fields.ts';

/** sha256 of zero bytes: any build can emit an empty file, so an empty input proves nothing was copied. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Input paths are files: unique, and none may be a directory another input sits in. */
export function checkInputLayout(inputs: readonly ManifestInput[]): void {
  checkFileLayout(
    inputs.map((input) => input.path),
    'inputs',
  );
}

export function checkClaimedOutputs(
  outputs: readonly ClaimedOutput[],
  inputs: readonly ManifestInput[],
): void {
  checkFileLayout(
    outputs.map((output) => output.path),
    'claimedOutputs',
  );
  const inputBySha = new Map<string, number>();
  inputs.forEach((input, i) => {
    if (input.sha256 !== EMPTY_SHA256 && !inputBySha.has(input.sha256)) inputBySha.set(input.sha256, i);
  });
  outputs.forEach((output, i) => {
    const j = inputBySha.get(output.sha256);
    if (j !== undefined) {
      invalid(
        `claimedOutputs[${i}].sha256 equals inputs[${j}].sha256`,
        'a published output handed in as an input could be copied out instead of rebuilt, so this is not a rebuild',
      );
    }
  });
}

function checkFileLayout(paths: readonly string[], field: string): void {
  const indexByPath = new Map<string, number>();
  paths.forEach((p, i) => {
    const earlier = indexByPath.get(p);
    if (earlier !== undefined)
      invalid(`${field}[${i}].path`, `duplicates ${field}[${earlier}].path ${preview(p)}`);
    indexByPath.set(p, i);
  });
  paths.forEach((p, i) => {
    for (const dir of ancestorsOf(p)) {
      const j = indexByPath.get(dir);
      if (j !== undefined) {
        invalid(
          `${field}[${i}].path`,
          `${preview(p)} lies inside ${field}[${j}].path ${preview(dir)}, which is a file`,
        );
      }
    }
  });
}

/**
 * A directory given relative to buildPath must not collide with an input file: not equal to one, not
 * inside one, and (when `mustNotContain`) not a directory that holds one.
 */
export function checkAgainstInputs(
  dir: string,
  field: string,
  inputs: readonly ManifestInput[],
  mustNotContain: boolean,
): void {
  if (dir === '.') return;
  const dirAncestors = new Set([dir, ...ancestorsOf(dir)]);
  inputs.forEach((input, i) => {
    if (dirAncestors.has(input.path)) {
      invalid(
        field,
        `${preview(dir)} is or lies inside inputs[${i}].path ${preview(input.path)}, which is a file`,
      );
    }
    if (mustNotContain && input.path.startsWith(`${dir}/`)) {
      invalid(
        field,
        `${preview(dir)} contains inputs[${i}].path ${preview(input.path)}; outputs must be kept apart from inputs`,
      );
    }
  });
}

function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) out.push(path.slice(0, at));
  return out;
}
