// The rbnet version recorded in attestations; kept in step with package.json by a test.
export const RBNET_VERSION = '0.1.0';
