// Compiles src/binding.c into prebuilds/<platform>-<arch>/hypernets-native.node with the system C
// compiler and the N-API headers of the node-api-headers package (node-gyp would download Node's
// headers from nodejs.org; these come from npm). OpenBLAS is not linked: the addon opens it at
// run time. Without a C compiler this prints why and exits 0: the package then loads as "not
// built" and @hypernets/core stays on the pure wasm path. HYPERNETS_NATIVE_REQUIRED=1 makes a
// failed build an error (CI, where the toolchain is installed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.HYPERNETS_NATIVE_REQUIRED === '1';
const skip = (why) => {
  console.error(`@hypernets/native: addon not built: ${why}`);
  process.exit(required ? 1 : 0);
};

const outDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const out = join(outDir, 'hypernets-native.node');
// npm's install step: keep a binary the package shipped
if (process.argv.includes('--if-missing') && existsSync(out)) process.exit(0);
if (process.platform === 'win32') skip('building on Windows needs node-gyp (see the README)');
let include;
try {
  include = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('the node-api-headers package is not installed');
}
const cc = process.env.CC || 'cc';
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
// -ffp-contract=off: no fused multiply-adds, so adamStep rounds every operation as core's Adam does;
// -O3 -fno-math-errno: its loop vectorises (see adam_update in binding.c)
const args = [
  '-O3',
  '-fno-math-errno',
  '-std=gnu11',
  '-ffp-contract=off',
  '-fPIC',
  '-shared',
  '-Wall',
  '-Werror',
  '-I',
  include,
  '-o',
  tmp,
  join(root, 'src', 'binding.c'),
];
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
else args.push('-ldl', '-lm');
const r = spawnSync(cc, args, { stdio: 'inherit' });
if (r.error) skip(`no C compiler (${cc}: ${r.error.message}); install one (Debian: apt-get install gcc libc6-dev)`);
if (r.status !== 0) skip(`${cc} exited with ${r.status}`);
renameSync(tmp, out); // atomic: a loader never sees half a binary
console.error(`@hypernets/native: built ${out}`);
