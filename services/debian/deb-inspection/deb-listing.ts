// What the worker's inspector reads out of a .deb, as data both sides share: the listing of its ar
// container and of its control and data tars, member by member, and the hazards found on the way.
// The worker makes listings in its inspection container; the coordinator compares them across rebuilds.

/** How a tar member of a .deb is compressed ('none' for a plain control.tar / data.tar). */
export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2';
/** Which of the two tars of a .deb. */
export type DebArea = 'control' | 'data';

/** Kind of a tar entry (tar-stream's 'file' and 'contiguous-file' are both 'file'; 'link' is 'hardlink'). */
export type TarMemberType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'directory'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  | 'other';

/** The header fields of a gzip-compressed regular file that make two otherwise equal files differ. */
export interface GzipHeaderFacts {
  /** MTIME field, seconds since the epoch (0 = not set, what `gzip -n` writes). */
  readonly mtimeSeconds: number;
  /** OS field (3 = Unix, 255 = unknown). */
  readonly os: number;
  /** FNAME flag: the original file name is stored. */
  readonly hasName: boolean;
  /** The stored name (first 255 bytes, latin1), when FNAME is set. */
  readonly name?: string;
}

/** One tar entry as the archive records it. */
export interface TarMember {
  /** Path with one leading './' removed, otherwise as written ('.' for the root entry './'). */
  readonly path: string;
  readonly type: TarMemberType;
  /** Permission bits, e.g. 0o755 (setuid/setgid/sticky included). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** Modification time, whole seconds since the epoch. */
  readonly mtimeSeconds: number;
  /** Bytes of content (0 for everything but regular files). */
  readonly size: number;
  /** sha256 of the content, regular files only. */
  readonly sha256?: string;
  /** Target of a symlink (as written) or hard link (leading './' removed). */
  readonly linkTarget?: string;
  /** Present for regular files named *.gz that start with a gzip header. */
  readonly gzipHeader?: GzipHeaderFacts;
  /** Which of the requested search strings occur in the content (regular files only; omitted when none). */
  readonly foundStrings?: readonly string[];
}

/** Closed set of hazards; `malformed` and `timeout` come from inspectDeb, the rest from the tar listing or decompression. */
export type HazardKind =
  | 'path-traversal'
  | 'duplicate-member'
  | 'too-many-members'
  | 'device-node'
  | 'name-too-long'
  | 'decompression-bomb'
  | 'timeout'
  | 'malformed';

/** Something hostile or broken in a .deb: reported as data, never thrown. */
export interface DebHazard {
  readonly kind: HazardKind;
  /** The ar member it was found in, or {@link AR_CONTAINER} for the ar container itself. */
  readonly member: string;
  /** The tar path concerned (truncated to 256 characters), when there is one. */
  readonly path?: string;
  readonly detail: string;
}

/** `DebHazard.member` for problems of the ar container itself (an ar member name never has parentheses). */
export const AR_CONTAINER = '(ar)';

/** The listing of control.tar* or data.tar*. */
export interface TarAreaListing {
  /** The ar member name, e.g. "data.tar.xz". */
  readonly member: string;
  readonly compression: Compression;
  /** Bytes of the compressed member. */
  readonly compressedSize: number;
  /** Bytes the decompressor produced (up to the cap). */
  readonly decompressedSize: number;
  /** False when the listing stopped early; the hazards say why. */
  readonly complete: boolean;
  readonly members: readonly TarMember[];
}

/** What a .deb holds, as far as it could be read. */
export interface DebListing {
  /** sha256 of the whole file. */
  readonly sha256: string;
  /** Bytes of the whole file. */
  readonly size: number;
  /** Content of the debian-binary member (at most 64 bytes, latin1), e.g. "2.0\n"; null when absent. */
  readonly debianBinary: string | null;
  /** ar member names in archive order (empty when the ar container is malformed). */
  readonly arMembers: readonly string[];
  readonly control: TarAreaListing | null;
  readonly data: TarAreaListing | null;
  /** Everything hostile or malformed, in the order found. Empty for a well-formed, harmless .deb. */
  readonly hazards: readonly DebHazard[];
}
