// @hypernets/nets/internal: shared with the other hypernets packages and apps; no semver promise.
export { VariableOwner } from './variables.js';
export { splitFlat, flattenWeights, conditionInput, generateFrom, flatAxes } from './hypernet.js';
export { lookup, resolveConditioning, checkConditionBatch, conditionFeatures } from './base.js';
export { factorize } from './lowrank.js';
export { resolveHyperLSTMConfig, tokenTensor, orthogonalMatrix } from './hyperlstm.js';
export { entryStats, specStats, hyperfanColumns, chunkedStats } from './init.js';
export { mipEncode } from './mip.js';
