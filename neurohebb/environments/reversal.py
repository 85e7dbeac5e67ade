"""Visuomotor association with reversals (Fusi, Asaad, Miller & Wang 2007;
modelled by Vasilaki, Fusi, Wang & Senn 2009).

Each trial shows one of ``n_images`` images (chosen at random); the subject makes
one of two saccades (left, right); one action is rewarded.  After every block of trials (``block`` trials, or a
length drawn uniformly from ``block +- block_jitter``) the image -> action map
is reversed for all images; :attr:`VisuomotorReversal.reversals` lists the
first trial of every new block.

The task is three external populations of one network (one step function each,
sharing the task's state; see :class:`neurohebb.ir.schema.External`):

* ``image`` (``n_inputs``): the image's binary input pattern (``active``
  inputs, disjoint between images), on for the first
  ``trial_steps - 1`` steps of a trial;
* ``noise`` (2): the decision noise of the two action neurons, one Gaussian draw
  per trial and action (sd ``noise``), on with the image;
* ``teach`` (2): the per-action third factor of the learning rule, non-zero on
  step ``trial_steps - 2`` of a trial only::

      m_i = R * (2 c_i - 1) * g_i

  ``c`` is the choice (one-hot; the action neuron with the larger activity,
  read from ``act`` at the previous step), ``R`` = +1 for a correct choice and
  -1 otherwise, ``2 c_i - 1`` the post activity minus its expectation (1/2 for
  two equiprobable actions) and ``g_i`` the stop-learning gate (Senn & Fusi
  2005; Vasilaki et al. 2009): with ``h = a - noise`` the actions' total
  synaptic input and ``d_i = h_i - mean(h)``, no potentiation when the input is
  already strongly positive and no depression when it is already strongly
  negative::

      g_i = 0  if (m_i > 0 and d_i > stop_margin) or (m_i < 0 and d_i < -stop_margin),  else 1

A trial of ``trial_steps = 4`` steps, with ``act`` reading ``image`` and ``noise``
through projections (latency 1) and the learning rule reading ``teach`` through a
``population`` modulator (which sees the previous step)::

    k = 0  image, noise on               act: nothing yet
    k = 1  image, noise on               act = W x + noise        (the decision)
    k = 2  image, noise on; teach = m    (task reads act of k = 1)
    k = 3  all off                       the rule sees r = m and x = image: learns

Everything the task decides is recorded in :attr:`VisuomotorReversal.log`.
"""
from __future__ import annotations

import numpy as np

_REGISTRY: dict = {}


class VisuomotorReversal:
    def __init__(self, n_inputs=40, n_images=2, block=80, block_jitter=0, noise=0.1, stop_margin=0.2,
                 trial_steps=4, active=10, seed=0, act="act", max_trials=1_000_000):
        if trial_steps < 4:
            raise ValueError(f"trial_steps must be >= 4 (got {trial_steps}); see the module docstring")
        if n_images < 1 or block < 1 or n_inputs < 1:
            raise ValueError("n_inputs, n_images and block must be >= 1")
        self.n_inputs, self.n_images, self.block = int(n_inputs), int(n_images), int(block)
        self.noise_sd, self.stop_margin, self.T = float(noise), float(stop_margin), int(trial_steps)
        self.act = act
        rng = np.random.default_rng(seed)
        if not 1 <= active * self.n_images <= self.n_inputs:
            raise ValueError(f"n_images * active ({self.n_images} * {active}) must be in [1, n_inputs = {n_inputs}]")
        order = rng.permutation(self.n_inputs)
        self.patterns = np.zeros((self.n_images, self.n_inputs))
        for k in range(self.n_images):  # disjoint sets of `active` inputs: distinct images
            self.patterns[k, order[k * active:(k + 1) * active]] = 1.0
        # image k's correct action in the first block: half left (0), half right (1)
        self.first_map = np.arange(self.n_images) % 2
        if not 0 <= block_jitter < block:
            raise ValueError(f"block_jitter must be in [0, block) (got {block_jitter}, block {block})")
        lengths = rng.integers(self.block - block_jitter, self.block + block_jitter + 1,
                               size=max_trials // max(1, self.block - block_jitter) + 1)
        #: the first trial of every block after the first (the reversals)
        self.reversals = np.cumsum(lengths)
        self.rng = rng
        self._trial = -1
        self._img = 0
        self._noise = np.zeros(2)
        self.log = {"image": [], "correct_action": [], "choice": [], "correct": [], "margin": [], "gate": []}

    # the task's state for trial ``k``
    def correct_action(self, trial: int, image: int) -> int:
        return int(self.first_map[image] ^ (int(np.searchsorted(self.reversals, trial, side="right")) % 2))

    def _advance(self, t):
        trial = t // self.T
        if trial != self._trial:
            self._trial = trial
            self._img = int(self.rng.integers(self.n_images))
            self._noise = self.rng.normal(0.0, self.noise_sd, 2)

    # the three channels
    def image(self, t, inputs):
        self._advance(t)
        return self.patterns[self._img] if t % self.T < self.T - 1 else np.zeros(self.n_inputs)

    def noise(self, t, inputs):
        self._advance(t)
        return self._noise if t % self.T < self.T - 1 else np.zeros(2)

    def teach(self, t, inputs):
        self._advance(t)
        if t % self.T != self.T - 2:
            return np.zeros(2)
        a = np.asarray(inputs[self.act], float)
        choice = int(np.argmax(a))
        target = self.correct_action(self._trial, self._img)
        ok = choice == target
        drive = a - self._noise                    # the synaptic input, without the decision noise
        d = drive - drive.mean()                   # each action's total input relative to the mean
        R = 1.0 if ok else -1.0
        c = np.zeros(2)
        c[choice] = 1.0
        m = R * (2.0 * c - 1.0)
        # stop-learning: no potentiation when the input is already strongly positive,
        # no depression when it is already strongly negative
        gate = np.where(((m > 0) & (d > self.stop_margin)) | ((m < 0) & (d < -self.stop_margin)), 0.0, 1.0)
        L = self.log
        L["image"].append(self._img)
        L["correct_action"].append(target)
        L["choice"].append(choice)
        L["correct"].append(ok)
        L["margin"].append(float(drive[target] - drive[1 - target]))
        L["gate"].append(gate.copy())
        return m * gate

    def externals(self, image="image", noise="noise", teach="teach"):
        """``{population: step function}`` for ``run(..., externals=...)``."""
        return {image: self.image, noise: self.noise, teach: self.teach}

    def results(self) -> dict:
        return {k: np.asarray(v) for k, v in self.log.items()}


def channel(channel: str, **params):
    """Document factory: ``function: "neurohebb.environments.reversal:channel"`` with
    ``params: {channel: image|noise|teach, <VisuomotorReversal arguments>}``.  The
    channels of one run share one task: a new task starts when a channel already
    handed out by the current one is requested again (the next run)."""
    if channel not in ("image", "noise", "teach"):
        raise ValueError(f"channel {channel!r}; known: image, noise, teach")
    key = tuple(sorted((k, repr(v)) for k, v in params.items()))
    task, used = _REGISTRY.get(key, (None, set()))
    if task is None or channel in used:
        task, used = VisuomotorReversal(**params), set()
        _REGISTRY[key] = (task, used)
    used.add(channel)
    return getattr(task, channel)
