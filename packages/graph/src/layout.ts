import type { ParamSpec } from '@hypernets/core';

/**
 * The PyTorch shape of a ParamSpec: conv kernels [kh, kw, cin, cout] → [cout, cin, kh, kw],
 * dense weights [in, out] → [out, in], everything else unchanged. GHNs predict (and ppuda
 * names) tensors in this layout.
 */
export function torchShape(spec: Pick<ParamSpec, 'shape' | 'kind'>): number[] {
  const s = spec.shape;
  if (spec.kind === 'embedding') return [...s];
  if (s.length === 4) return [s[3]!, s[2]!, s[0]!, s[1]!];
  if (s.length === 2) return [s[1]!, s[0]!];
  return [...s];
}
