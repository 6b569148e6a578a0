// @hypernets/data/internal: shared with the other hypernets packages and apps; no semver promise.
export { MNIST_FILES } from './mnist.js';
export { checkBatchSize } from './stream.js';
