// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.tools/**',
      '.cache/**',
      'coverage/**',
      'runtime/src/ui/static/**',
      'runtime/src/ui/gen/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      complexity: ['warn', 15],
      'max-depth': ['error', 4],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['core/src/**/*.ts', 'runtime/src/**/*.ts', 'operator/src/**/*.ts'],
    ignores: ['runtime/src/cli/**'],
    rules: { 'no-console': 'error' },
  },
  prettier,
);
