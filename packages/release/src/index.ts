export { compareVersions, isVersion, parseVersion } from './version.js';
export {
  checkRelativePath,
  MANIFEST_NAME,
  type Manifest,
  type ManifestFile,
  parseManifest,
  SIGNATURE_NAME,
} from './manifest.js';
export {
  type Ed25519KeyPair,
  type Envelope,
  generateKeyPair,
  isSignedBy,
  keyIdOf,
  loadPrivateKey,
  parseEnvelope,
  signDocument,
} from './signing.js';
export {
  type ExpiryWarning,
  expiryWarnings,
  makeRelease,
  makeRevocations,
  makeRoot,
  makeSigningKey,
  type PinnedRoot,
  parseTrustBundle,
  pinnedFrom,
  type ReleaseDoc,
  type RootDoc,
  resolveTrust,
  type SigningKeyDoc,
  type Trust,
  type TrustBundle,
  WARN_BEFORE_MS,
} from './trust.js';
export { type BuildOptions, type BuildResult, type BundleSource, buildBundle } from './bundle-build.js';
export {
  type Bundle,
  type BundleLimits,
  DEFAULT_BUNDLE_LIMITS,
  readBundle,
  verifyBundle,
} from './bundle-read.js';
export { unpackBundle } from './bundle-install.js';
export { eligibilityPoint, isEligible } from './eligibility.js';
export { AGENT_ENTRY, AGENT_ENTRY_SOURCE, collectAgentFiles } from './agent-files.js';
