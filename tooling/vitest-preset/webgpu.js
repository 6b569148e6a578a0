// The preamble every WebGPU test file shares: start WebGPU once at import, skip the suite with a
// message where no adapter is found, except under CI=true (CI installs SwiftShader with
// .ci/install-webgpu.sh: there a WebGPU that cannot start fails the suite). No @hypernets import:
// the caller passes how to start, which errors mean "no adapter", how to release, and tfjs's env.
import { afterAll, beforeAll, describe } from 'vitest';

/** Types: webgpu.d.ts. */
export async function webgpuSuite(label, start, { unavailable: isUnavailable, release, env }) {
  const CI = process.env.CI === 'true';
  let started = false;
  let value;
  let unavailable = '';
  try {
    value = await start();
    started = true;
  } catch (e) {
    if (!isUnavailable(e)) throw e; // a bug, not a missing adapter
    unavailable = e instanceof Error ? e.message : String(e);
  }
  if (!started && !CI)
    console.warn(
      `[${label}] skipping: ${unavailable}\n  (run .ci/install-webgpu.sh to install SwiftShader; with CI=true this is a failure)`,
    );

  const describeWebgpu = (name, fn) =>
    describe.skipIf(!started && !CI)(name, () => {
      let cpuForward;
      beforeAll(() => {
        if (!started)
          throw new Error(`CI=true requires the WebGPU suite to run, but WebGPU could not start: ${unavailable}`);
        // Small tensors would otherwise run on tfjs's CPU fallback inside the webgpu backend.
        cpuForward = env().getBool('WEBGPU_CPU_FORWARD');
        env().set('WEBGPU_CPU_FORWARD', false);
      });
      afterAll(async () => {
        if (cpuForward !== undefined) env().set('WEBGPU_CPU_FORWARD', cpuForward);
        await release(); // releases the device so the vitest fork can exit
      });
      fn();
    });
  return { started, value, unavailable, describeWebgpu };
}
