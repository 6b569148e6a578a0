import { describe, expect, it } from 'vitest';
import { parseFloatArg, parseIntArg, intListArg } from './args.js';

describe('strict number arguments', () => {
  it('integers are plain decimal digits that fit a safe integer', () => {
    expect(parseIntArg('--n', '250')).toBe(250);
    expect(parseIntArg('--n', '0')).toBe(0);
    for (const bad of [
      '0x10',
      '1e20',
      '1e3',
      '1.5',
      '-1',
      '+5',
      ' 5',
      '5 ',
      '',
      'Infinity',
      'NaN',
      '0b11',
      '9007199254740993',
      '１２',
    ])
      expect(() => parseIntArg('--iterations', bad), bad).toThrow(
        /--iterations takes a whole number in decimal digits/,
      );
  });
  it('floats are finite decimals', () => {
    expect(parseFloatArg('--lr', '1e-3')).toBe(0.001);
    expect(parseFloatArg('--lr', '.5')).toBe(0.5);
    expect(parseFloatArg('--lr', '-2')).toBe(-2);
    for (const bad of ['0x10', 'Infinity', '-Infinity', 'NaN', '', ' ', '1e400', '1,5', '1e', 'e5'])
      expect(() => parseFloatArg('--lr', bad), bad).toThrow(/--lr takes a decimal number/);
  });
  it('lists are comma-separated whole numbers', () => {
    expect(intListArg('--target-hidden')('400, 400')).toEqual([400, 400]);
    for (const bad of ['400,x', '0x10', '1e3,4', '', '4,,4'])
      expect(() => intListArg('--target-hidden')(bad), bad).toThrow(
        /--target-hidden takes comma-separated whole numbers/,
      );
  });
});
