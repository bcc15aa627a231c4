// Public API of rbnet attestations: keys, DSSE, the rebuild statement and its verifier.
export {
  type DsseEnvelope,
  type DsseSignature,
  IN_TOTO_PAYLOAD_TYPE,
  maxEnvelopeBytesDefault,
  parseDsseEnvelope,
  preAuthEncoding,
  verifyDsseEnvelope,
} from './dsse.ts';
export {
  ed25519PublicKeyFromPem,
  type GeneratedEd25519KeyPair,
  generateEd25519KeyFiles,
  loadEd25519PrivateKey,
  loadEd25519PublicKey,
  publicKeyToSecuresystemslibJson,
  rawPublicKeyHex,
  type SecuresystemslibEd25519PublicKey,
  securesystemslibKeyid,
} from './ed25519-key.ts';
export { parseRebuildStatement } from './parse-rebuild-statement.ts';
export {
  BUILD_LOG_BYPRODUCT_NAME,
  ENVIRONMENT_DEPENDENCY_URI,
  type EnvironmentOrigin,
  IN_TOTO_STATEMENT_V1,
  INPUT_DEPENDENCY_URI_PREFIX,
  inputDependencyUri,
  isSafeRelativePath,
  REBUILD_BUILD_TYPE_V1,
  type RebuildFacts,
  type RebuildHost,
  type RebuildJob,
  type RebuildStatement,
  SLSA_PROVENANCE_V1,
} from './rebuild-statement.ts';
export { encodeCanonical } from './securesystemslib-canonical-json.ts';
export {
  composeRebuildStatement,
  type SignedRebuildStatement,
  signRebuildStatement,
} from './sign-rebuild-statement.ts';
// The composition root builds a signer and hands it to the rebuild path; nothing else should hold one.
export { Ed25519FileSigner, type Signer } from './signer.ts';
export {
  type RebuildAttestationExpectations,
  type VerifiedRebuildAttestation,
  type VerifyRebuildAttestationOptions,
  verifyRebuildAttestation,
} from './verify-rebuild-attestation.ts';
