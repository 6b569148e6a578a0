/**
 * tfjs loads when a command runs, not when the program starts: `hypernets --help` and a usage
 * error answer in a fraction of a second instead of after importing tfjs and every package.
 */
export async function loadTf(): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  // A command-line tool: no tfjs console advice ("install tfjs-node") between our own lines.
  tf.env().set('PROD', true);
}
