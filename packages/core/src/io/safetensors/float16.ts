// float16 / bfloat16: conversions between float32 values and 16-bit storage patterns

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of a float32's bit pattern, rounded to nearest even. */
function halfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf, NaN
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // subnormal half (or zero): value = m · 2^(e-14) in units of 2^-24
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (r & 1) !== 0)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa bumps the exponent, and from the top exponent to inf: both correct
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) !== 0)) r++;
  return sign | r;
}

/** float32 values → IEEE half bit patterns (round to nearest even, overflow to ±inf). */
export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  if (values instanceof Float32Array) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]);
  } else {
    for (let i = 0; i < values.length; i++) {
      f32Scratch[0] = values[i];
      out[i] = halfBits(u32Scratch[0]);
    }
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** IEEE half bit patterns → float32 (exact). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >>> 10) & 0x1f;
      const m = h & 0x3ff;
      halfTable[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfTable[bits[i]];
  return out;
}

/** float32 values → bfloat16 bit patterns (round to nearest even). */
export function float32ToBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32Scratch[0] = values[i];
    const x = u32Scratch[0];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0)
      out[i] = (x >>> 16) | 0x40; // quiet NaN
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** bfloat16 bit patterns → float32 (exact). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}
