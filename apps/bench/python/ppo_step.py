"""PyTorch side of `pnpm bench ppo-step`: one iteration of CleanRL's ppo_continuous_action.py.

The same workload as the tfjs side: a replay of recorded HalfCheetah-v5 transitions (observation 17,
action 6; the recording and its episode ends come from the safetensors file the tfjs side writes)
stands in for the simulator in both, so both time the same rollout bookkeeping and PPO update.
The env is wrapped as CleanRL wraps it: ClipAction, NormalizeObservation (clip 10),
NormalizeReward (gamma 0.99, clip 10), episode statistics. One iteration: 2048 rollout steps of 1 env
(a no-grad forward of actor and critic, a Gaussian sample, an env step each), GAE, then 10 epochs x 32
minibatches of 64 (clipped surrogate, clipped value loss, grad-norm clip 0.5, Adam eps 1e-5, lr
annealed). Prints one JSON line: {"torch_ms": median ms per iteration, "torch_cpu_ms",
"torch_version", "threads", "blas"}.
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.distributions.normal import Normal

from common import blas_in_use, median_ms, read_safetensors

NUM_STEPS, MINIBATCHES, EPOCHS = 2048, 32, 10
GAMMA, LAMBDA, CLIP, ENT, VF, MAX_GRAD = 0.99, 0.95, 0.2, 0.0, 0.5, 0.5


class RunningMeanStd:
    def __init__(self, shape):
        self.mean, self.var, self.count = np.zeros(shape, np.float64), np.ones(shape, np.float64), 1e-4

    def update(self, x):
        batch_mean, batch_var, batch_count = x.mean(0), x.var(0), x.shape[0]
        delta = batch_mean - self.mean
        tot = self.count + batch_count
        self.mean = self.mean + delta * batch_count / tot
        m2 = self.var * self.count + batch_var * batch_count + delta ** 2 * self.count * batch_count / tot
        self.var, self.count = m2 / tot, tot


class ReplayEnv:
    """Recorded observations, rewards and episode ends, replayed in a loop whatever the actions, with
    CleanRL's wrappers around them (the per-step host work a real env run does besides the physics)."""

    def __init__(self, obs, rewards, dones):
        self.obs, self.rewards, self.dones, self.t = obs, rewards, dones, 0
        self.obs_rms, self.ret_rms = RunningMeanStd(obs.shape[1:]), RunningMeanStd(())
        self.ret, self.ep_return = 0.0, 0.0

    def _norm_obs(self, o):
        self.obs_rms.update(o[None])
        return np.clip((o - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + 1e-8), -10, 10).astype(np.float32)

    def reset(self):
        return self._norm_obs(self.obs[self.t])

    def step(self, action):
        np.clip(action, -1.0, 1.0)  # ClipAction
        i = self.t
        self.t = (self.t + 1) % len(self.obs)
        r, done = float(self.rewards[i]), bool(self.dones[i])
        self.ep_return += r
        self.ret = self.ret * GAMMA + r
        self.ret_rms.update(np.array([self.ret]))
        r = float(np.clip(r / np.sqrt(self.ret_rms.var + 1e-8), -10, 10))
        if done:
            self.ret, self.ep_return = 0.0, 0.0
        return self._norm_obs(self.obs[self.t]), r, done


def layer_init(layer, std=np.sqrt(2), bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, o, a):
        super().__init__()
        self.critic = nn.Sequential(layer_init(nn.Linear(o, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
                                    layer_init(nn.Linear(64, 1), std=1.0))
        self.actor_mean = nn.Sequential(layer_init(nn.Linear(o, 64)), nn.Tanh(), layer_init(nn.Linear(64, 64)), nn.Tanh(),
                                        layer_init(nn.Linear(64, a), std=0.01))
        self.actor_logstd = nn.Parameter(torch.zeros(1, a))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        mean = self.actor_mean(x)
        std = torch.exp(self.actor_logstd.expand_as(mean))
        probs = Normal(mean, std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)


def main(steps: int, warmup: int, threads: int, path: str) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    rec = read_safetensors(path)
    obs_rec, rew_rec, done_rec = rec['obs'].numpy(), rec['rewards'].numpy(), rec['dones'].numpy()
    O, A = obs_rec.shape[1], int(rec['action_size'][0])
    env = ReplayEnv(obs_rec, rew_rec, done_rec)
    agent = Agent(O, A)
    opt = torch.optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5)
    obs = torch.zeros((NUM_STEPS, O))
    actions = torch.zeros((NUM_STEPS, A))
    logprobs, rewards, dones, values = (torch.zeros(NUM_STEPS) for _ in range(4))
    state = {'obs': torch.tensor(env.reset()), 'done': torch.zeros(1)}
    mb = NUM_STEPS // MINIBATCHES

    def iteration():
        next_obs, next_done = state['obs'], state['done']
        for t in range(NUM_STEPS):
            obs[t], dones[t] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs[None])
            values[t], actions[t], logprobs[t] = value.flatten(), action[0], logprob
            o, r, d = env.step(action[0].numpy())
            rewards[t] = r
            next_obs, next_done = torch.tensor(o), torch.tensor([float(d)])
        with torch.no_grad():
            next_value = agent.get_value(next_obs[None]).reshape(1)
            adv = torch.zeros(NUM_STEPS)
            last = 0.0
            for t in reversed(range(NUM_STEPS)):
                nonterm, nextv = (1.0 - next_done, next_value) if t == NUM_STEPS - 1 else (1.0 - dones[t + 1], values[t + 1])
                delta = rewards[t] + GAMMA * nextv * nonterm - values[t]
                adv[t] = last = delta + GAMMA * LAMBDA * nonterm * last
            returns = adv + values
        for _ in range(EPOCHS):
            inds = np.random.permutation(NUM_STEPS)
            for s in range(0, NUM_STEPS, mb):
                i = inds[s:s + mb]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(obs[i], actions[i])
                logratio = newlogprob - logprobs[i]
                ratio = logratio.exp()
                a = adv[i]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pg = torch.max(-a * ratio, -a * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean()
                newvalue = newvalue.view(-1)
                v_unclipped = (newvalue - returns[i]) ** 2
                v_clipped = values[i] + torch.clamp(newvalue - values[i], -CLIP, CLIP)
                v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - returns[i]) ** 2).mean()
                loss = pg - ENT * entropy.mean() + v_loss * VF
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), MAX_GRAD)
                opt.step()
        state['obs'], state['done'] = next_obs, next_done

    ms, cpu_ms = median_ms(iteration, steps, warmup)
    print(json.dumps({"torch_ms": round(ms, 2), "torch_cpu_ms": round(cpu_ms, 2), "torch_version": torch.__version__,
                      "threads": threads, "blas": blas_in_use()}))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]), int(a[1]), int(a[2]), a[3])
