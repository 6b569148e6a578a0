// @hypernets/adapters/internal: shared with the other hypernets packages and apps; no semver promise.
export {};
