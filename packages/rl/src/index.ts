// The public API of @hypernets/rl.
export { InvalidActionError, MujocoUnavailableError, ResetNeededError, UnknownEnvError } from './errors.js';
export { Box, Discrete, checkAction } from './envs/spaces.js';
export type { ActionOf, Space } from './envs/spaces.js';
export type { Env, EnvSpec, Info, ResetOptions, ResetResult, StepResult } from './envs/env.js';
export { ClassicControlEnv } from './envs/classic/classic-env.js';
export type { Transition } from './envs/classic/classic-env.js';
export { CartPoleEnv, CARTPOLE_THETA_THRESHOLD, CARTPOLE_X_THRESHOLD } from './envs/classic/cartpole.js';
export type { CartPoleOptions } from './envs/classic/cartpole.js';
export { PendulumEnv, angleNormalize } from './envs/classic/pendulum.js';
export type { PendulumOptions } from './envs/classic/pendulum.js';
export { MountainCarEnv } from './envs/classic/mountain-car.js';
export type { MountainCarOptions } from './envs/classic/mountain-car.js';
export { ContinuousMountainCarEnv } from './envs/classic/continuous-mountain-car.js';
export { AcrobotEnv } from './envs/classic/acrobot.js';
export {
  ENV_IDS,
  MUJOCO_ENV_IDS,
  envSpec,
  isEnvId,
  knownEnvIds,
  makeEnv,
  registerEnv,
  unregisterEnv,
} from './envs/registry.js';
export type { EnvFactory } from './envs/custom.js';
export { isRenderable } from './render/shapes.js';
export type { RenderFrame, Renderable, Shape, View } from './render/shapes.js';
export { MUJOCO_VERSION, loadMujoco } from './envs/mujoco/loader.js';
export type { MjDataHandle, MjModelHandle, MujocoModule } from './envs/mujoco/loader.js';
export { MujocoEnv } from './envs/mujoco/mujoco-env.js';
export type { MujocoTransition } from './envs/mujoco/mujoco-env.js';
export { HalfCheetahEnv } from './envs/mujoco/half-cheetah.js';
export type { HalfCheetahOptions } from './envs/mujoco/half-cheetah.js';
export { HopperEnv, PlanarWalkerEnv, Walker2dEnv } from './envs/mujoco/hopper.js';
export type { PlanarWalkerOptions } from './envs/mujoco/hopper.js';
export type { EnvActionSpaces, EnvId, MakeEnvOptions } from './envs/registry.js';
export { Wrapper } from './envs/wrappers/wrapper.js';
export { TimeLimit } from './envs/wrappers/time-limit.js';
export { RecordEpisodeStatistics } from './envs/wrappers/record-episode-statistics.js';
export type { EpisodeStatistics } from './envs/wrappers/record-episode-statistics.js';
export { ClipAction } from './envs/wrappers/clip-action.js';
export { NormalizeObservation } from './envs/wrappers/normalize-observation.js';
export type { NormalizeObservationOptions } from './envs/wrappers/normalize-observation.js';
export { NormalizeReward } from './envs/wrappers/normalize-reward.js';
export type { NormalizeRewardOptions } from './envs/wrappers/normalize-reward.js';
export { RunningMeanStd } from './envs/wrappers/running-mean-std.js';
export type { RunningMeanStdState } from './envs/wrappers/running-mean-std.js';
export { SyncVectorEnv } from './envs/vector/sync-vector-env.js';
export type { VectorResetResult, VectorStepResult } from './envs/vector/sync-vector-env.js';
export { gae } from './ppo/gae.js';
export type { GaeInput, GaeResult } from './ppo/gae.js';
export { ppoLoss } from './ppo/loss.js';
export type { PpoLossOptions, PpoLossTerms, PpoMinibatch } from './ppo/loss.js';
export { orthogonalArray } from './ppo/orthogonal.js';
export {
  argmaxRows,
  categoricalEntropy,
  categoricalLogProb,
  gaussianEntropy,
  gaussianLogProb,
  sampleCategorical,
  sampleGaussian,
} from './ppo/distributions.js';
export { ActorCritic } from './ppo/policy.js';
export { shuffledMinibatches } from './ppo/agent.js';
export type { AgentOutput, PpoAgent } from './ppo/agent.js';
export type { ActionEvaluation, ActorCriticConfig, PolicyActionHead } from './ppo/policy.js';
export { PPO_EVENT_TYPES, PPO_PRESETS } from './ppo/options.js';
export { PpoTrainer } from './ppo/trainer.js';
export { explainedVariance } from './ppo/update.js';
export {
  ArchitectureSpace,
  HYPERPPO_MAX_DEPTH,
  HYPERPPO_WIDTHS,
  policyParameterCount,
} from './hyperppo/search-space.js';
export type { ArchitectureSampling } from './hyperppo/search-space.js';
export { MlpGhn } from './hyperppo/mlp-ghn.js';
export type { GeneratedPolicy, MlpGhnConfig } from './hyperppo/mlp-ghn.js';
export { disposePadded, padPolicies, paddedForward } from './hyperppo/padded.js';
export type { PaddedPolicies } from './hyperppo/padded.js';
export { HyperActorCritic } from './hyperppo/policy.js';
export type { HyperActorCriticConfig, LogStdMode } from './hyperppo/policy.js';
export { HYPERPPO_DEFAULTS, HyperPpoTrainer, paretoFront } from './hyperppo/trainer.js';
export type { ArchitectureEvaluation, HyperPpoTrainerOptions } from './hyperppo/trainer.js';
export type {
  PpoEpisode,
  PpoEvaluation,
  PpoIterationStats,
  PpoAgentContext,
  PpoPreset,
  PpoTrainEvent,
  PpoTrainerOptions,
  PpoTrainResult,
  ResolvedPpoTrainerOptions,
} from './ppo/options.js';
export { AntEnv } from './envs/mujoco/ant.js';
export type { AntOptions } from './envs/mujoco/ant.js';
export { MUJOCO_MODEL_FILES, isMujocoLoaded } from './envs/mujoco/loader.js';
export type { LoadMujocoOptions, MujocoModelFile } from './envs/mujoco/loader.js';
export type { GroundPosition } from './envs/mujoco/mujoco-env.js';
export { acrobotFrame, cartPoleFrame, mountainCarFrame, mountainCarHeight, pendulumFrame } from './render/classic.js';
export { RENDER_FPS, recordRollout } from './render/rollout.js';
export type { RecordedRollout, RolloutOptions, RolloutPolicy } from './render/rollout.js';
export { framesToSvg, pixelMapping } from './render/svg.js';
export type { PixelMapping, SvgOptions } from './render/svg.js';
export { ContextMlp, HyperZero, disposePrepared } from './hyperzero/model.js';
export type {
  PreparedContexts,
  ResolvedZeroShotModelConfig,
  ZeroShotModel,
  ZeroShotModelConfig,
} from './hyperzero/model.js';
export { tdError, zeroShotLoss } from './hyperzero/loss.js';
export type { ZeroShotBatch, ZeroShotLossOptions, ZeroShotLossTerms } from './hyperzero/loss.js';
export { buildDataset, checkDataset, contextGrid, splitContexts } from './hyperzero/dataset.js';
export type { ZeroShotDataset } from './hyperzero/dataset.js';
export { episodeSeed, evaluateZeroShot } from './hyperzero/evaluate.js';
export type { ZeroShotEvaluateOptions, ZeroShotEvaluation } from './hyperzero/evaluate.js';
export { Td3Teacher } from './hyperzero/teacher.js';
export type { ResolvedTd3Options, Td3Options, Td3Result, TeacherRollout } from './hyperzero/teacher.js';
export { HYPERZERO_EVENT_TYPES, HyperZeroTrainer } from './hyperzero/trainer.js';
export type {
  HyperZeroEpochStats,
  HyperZeroTrainEvent,
  HyperZeroTrainResult,
  HyperZeroTrainerOptions,
  ZeroShotLossMeans,
} from './hyperzero/trainer.js';
export {
  ZERO_SHOT_EVAL_SEED,
  ZERO_SHOT_MODELS,
  ZeroShotExperiment,
  makeZeroShotModel,
} from './hyperzero/experiment.js';
export type { ZeroShotExperimentOptions, ZeroShotModelName } from './hyperzero/experiment.js';
export { pendulumFamily } from './hyperzero/family.js';
export type { ContextFamily } from './hyperzero/family.js';
export type { TeacherRecord } from './hyperzero/teacher-record.js';
