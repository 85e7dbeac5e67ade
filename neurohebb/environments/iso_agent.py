"""A food-seeking agent in a 2-D arena, for ISO / ICO learning (Porr & Woergoetter
2003, 2006, 2007): a proximal *reflex* input that fires late (on contact, food
off to one side) and a distal *predictive* input that sees the food earlier.

The world (one agent, one piece of food at a time):

* a square torus of side ``arena``; the agent moves ``speed`` per step along
  its heading ``theta``; each step it turns by
  ``clip(turn_gain * m, -max_turn, max_turn) + N(0, heading_noise^2)``, where
  ``m`` is the activity of the motor population it reads (the previous step's);
* the food sits at a random place at least ``spawn_min`` from the agent; with
  ``d`` its (torus) distance and ``beta`` its bearing relative to the heading
  (positive: to the left), the sensors are::

      reflex     x0 = sin(beta)  if d < r_reflex and the agent is off course, else 0
      predictive x1 = sin(beta)  if d < r_predict, else 0

  where *off course* means that going straight on the agent would miss the
  food: the food is behind (``cos beta < 0``) or the lateral offset
  ``d |sin beta|`` exceeds ``r_eat``.  The reflex is a *contact* reflex: it
  fires when the agent enters the food's contact zone off course, and (through
  a fixed positive weight) turns the agent towards it.  An agent that steers
  towards the food early arrives on course and the reflex stays silent.
* the food is eaten when ``d < r_eat``; a new piece appears at once.  A *trial*
  is one piece of food: from its appearance until it is eaten, or until
  ``timeout`` steps have passed (then it is moved elsewhere; the trial counts
  as not found).
* relevance (ISO3's third factor, the "relevance signal" of Porr & Woergoetter
  2007): ``g = 1`` for ``relevance_steps`` steps from every onset of the
  reflex, else 0.

The step function emits ``[x0, x1, g, eaten]`` (``eaten`` is 1 in the step the
food is eaten).  Per trial, :attr:`IsoAgent.trials` records the reflex
triggers (onsets: steps where the reflex fires and did not in the previous
step), the steps the reflex fired, the steps taken and whether the food was
found; :attr:`IsoAgent.path` the agent's positions (when ``record_path``).

In a document::

    env: {type: external, n: 4, reads: [motor],
          function: "neurohebb.environments.iso_agent:make", params: {seed: 3}}
"""
from __future__ import annotations

import math

import numpy as np

CHANNELS = ("reflex", "predictive", "relevance", "eaten")


class IsoAgent:
    """The agent and its world; call it as a step function ``f(t, inputs)``."""

    def __init__(self, motor="motor", seed=0, arena=200.0, speed=1.0, turn_gain=1.0, max_turn=0.3,
                 heading_noise=0.05, r_eat=4.0, r_reflex=12.0, r_predict=60.0,
                 spawn_min=30.0, timeout=4000, relevance_steps=60, record_path=False):
        if arena <= 2 * r_predict:
            raise ValueError(f"iso_agent: arena ({arena}) must exceed 2 * r_predict ({2 * r_predict})")
        if not 0 < r_eat < r_reflex <= r_predict:
            raise ValueError(f"iso_agent: need 0 < r_eat < r_reflex <= r_predict, got {r_eat}, {r_reflex}, "
                             f"{r_predict}")
        if spawn_min > arena / 2:
            raise ValueError(f"iso_agent: spawn_min ({spawn_min}) must not exceed arena / 2 ({arena / 2})")
        self.motor = motor
        self.arena, self.speed, self.turn_gain, self.max_turn = float(arena), float(speed), float(turn_gain), \
            float(max_turn)
        self.heading_noise = float(heading_noise)
        self.r_eat, self.r_reflex, self.r_predict = float(r_eat), float(r_reflex), float(r_predict)
        self.spawn_min = float(spawn_min)
        self.timeout, self.relevance_steps = int(timeout), int(relevance_steps)
        food_ss, noise_ss, head_ss = np.random.SeedSequence(seed).spawn(3)
        self._food_rng = np.random.default_rng(food_ss)
        self._noise_rng = np.random.default_rng(noise_ss)
        self._noise, self._noise_i = np.zeros(0), 0
        self.record_path = bool(record_path)
        self.x = self.y = self.arena / 2
        self.theta = float(np.random.default_rng(head_ss).uniform(-math.pi, math.pi))
        self.trials: list[dict] = []
        self.path: list[tuple] = []
        self._spawn(0)
        self._fired = False
        self._relevance_left = 0

    # --------------------------------------------------------------- world
    def _delta(self, fx, fy):
        half, L = self.arena / 2, self.arena
        return (fx - self.x + half) % L - half, (fy - self.y + half) % L - half   # nearest image on the torus

    def _spawn(self, t):
        while True:
            fx, fy = (float(v) for v in self._food_rng.uniform(0, self.arena, 2))
            if math.hypot(*self._delta(fx, fy)) >= self.spawn_min:
                break
        self.food = (fx, fy)
        self._trial = {"start": t, "triggers": 0, "reflex_steps": 0, "found": False}

    def _end_trial(self, t, found):
        tr = self._trial
        tr["steps"] = t - tr["start"] + 1
        tr["found"] = found
        self.trials.append(tr)
        self._spawn(t + 1)

    def sense(self):
        """``(d, beta)``: distance and bearing (left positive) of the food."""
        dx, dy = self._delta(*self.food)
        d = math.hypot(dx, dy)
        beta = math.atan2(dy, dx) - self.theta
        beta = (beta + math.pi) % (2 * math.pi) - math.pi
        return d, beta

    def _draw_noise(self):
        if self._noise_i >= len(self._noise):
            self._noise, self._noise_i = self._noise_rng.standard_normal(4096), 0
        z = self._noise[self._noise_i]
        self._noise_i += 1
        return float(z)

    # --------------------------------------------------------------- step
    def __call__(self, t, inputs):
        m = float(inputs[self.motor][0]) if self.motor in inputs else 0.0
        turn = min(max(self.turn_gain * m, -self.max_turn), self.max_turn)
        self.theta += turn + self.heading_noise * self._draw_noise()
        self.x = (self.x + self.speed * math.cos(self.theta)) % self.arena
        self.y = (self.y + self.speed * math.sin(self.theta)) % self.arena
        if self.record_path:
            self.path.append((t, self.x, self.y, self.food[0], self.food[1]))
        d, beta = self.sense()
        s = math.sin(beta)
        fires = d < self.r_reflex and (math.cos(beta) < 0 or d * abs(s) > self.r_eat)
        x0 = s if fires else 0.0
        x1 = s if d < self.r_predict else 0.0
        if fires:
            self._trial["reflex_steps"] += 1
            if not self._fired:
                self._trial["triggers"] += 1
                self._relevance_left = self.relevance_steps
        self._fired = fires
        g = 1.0 if self._relevance_left > 0 else 0.0
        self._relevance_left = max(self._relevance_left - 1, 0)
        eaten = 0.0
        if d < self.r_eat:
            eaten = 1.0
            self._end_trial(t, True)
        elif t - self._trial["start"] + 1 >= self.timeout:
            self._end_trial(t, False)
        return np.array([x0, x1, g, eaten])


def make(**params):
    """Factory for documents (``function: "neurohebb.environments.iso_agent:make"``):
    ``IsoAgent(**params)``; see :class:`IsoAgent` for the parameters."""
    return IsoAgent(**params)
