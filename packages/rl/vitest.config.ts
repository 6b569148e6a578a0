import { preset } from '@hypernets/vitest-preset';
export default preset();
