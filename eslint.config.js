// ESLint flat config: recommended JS + typescript-eslint rules (not the type-checked set: too slow on 2 cores).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/fixtures/**', '**/results/**', '**/runs/**', '**/scripts/**'],
  },
  {
    files: ['packages/*/src/**/*.ts', 'apps/*/src/**/*.ts', 'tooling/**/*.ts', 'tooling/**/*.js'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a deliberately unused name: keys dropped by destructuring, interface parameters.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // 9 uses, all at untyped boundaries: optional dynamic imports, globalThis.navigator.gpu, tests editing parsed JSON.
      '@typescript-eslint/no-explicit-any': 'off',
      // `{}` mirrors tfjs-core's own io types (ModelJSON.modelTopology, userDefinedMetadata); 3 uses in io/tfjs-format.ts.
      '@typescript-eslint/no-empty-object-type': 'off',
      // The safetensors header reader rejects control characters with a regex on purpose (io/safetensors/header.ts).
      'no-control-regex': 'off',
    },
  },
);
