"""Noise schedulers for latent diffusion: DDPM, DDIM, Euler ancestral and DPM-Solver++ 2M.

Pure torch, with the calling convention diffusers uses, so a sampling loop reads::

    scheduler.set_timesteps(steps)
    latents = noise * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        eps = unet(scheduler.scale_model_input(latents, t), t)
        latents = scheduler.step(eps, t, latents, generator=gen).prev_sample

Given equal configs, inputs and CPU generators, every step gives the numbers the diffusers
scheduler of the same name gives. The defaults are Stable Diffusion's (1.x and 2.x):
``scaled_linear`` betas from 0.00085 to 0.012 over 1000 training steps, ``leading`` spacing with
``steps_offset=1``, no clipping of the predicted sample, and ``set_alpha_to_one=False``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import torch

from museforge.errors import MuseforgeError
from museforge.image.diffusion import SAMPLER_NAMES

Generators = torch.Generator | list[torch.Generator] | None

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
SPACINGS = ("leading", "trailing", "linspace")
VARIANCE_TYPES = ("fixed_small", "fixed_large")
FINAL_SIGMAS = ("zero", "sigma_min")


def _choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise MuseforgeError(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")


@dataclass(frozen=True)
class SchedulerConfig:
    """Scheduler settings, named and meant as in diffusers; each scheduler reads those that apply.

    The defaults are Stable Diffusion's, not those of diffusers' classes (which are linear betas
    0.0001 to 0.02, ``steps_offset=0``, ``clip_sample=True``, ``set_alpha_to_one=True``, and
    ``linspace`` spacing for Euler and DPM-Solver).

    ``clip_sample``, ``clip_sample_range``: DDPM and DDIM. ``set_alpha_to_one``: DDIM.
    ``variance_type``: DDPM. ``lower_order_final``, ``final_sigmas_type``: DPM-Solver++.
    """

    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: str = "epsilon"
    timestep_spacing: str = "leading"
    steps_offset: int = 1
    clip_sample: bool = False
    clip_sample_range: float = 1.0
    set_alpha_to_one: bool = False
    variance_type: str = "fixed_small"
    lower_order_final: bool = True
    final_sigmas_type: str = "zero"

    def __post_init__(self) -> None:
        _choice("beta_schedule", self.beta_schedule, BETA_SCHEDULES)
        _choice("prediction_type", self.prediction_type, PREDICTION_TYPES)
        _choice("timestep_spacing", self.timestep_spacing, SPACINGS)
        _choice("variance_type", self.variance_type, VARIANCE_TYPES)
        _choice("final_sigmas_type", self.final_sigmas_type, FINAL_SIGMAS)
        if self.num_train_timesteps < 2:
            raise MuseforgeError(f"num_train_timesteps must be at least 2, not {self.num_train_timesteps}")
        if self.steps_offset < 0:
            raise MuseforgeError(f"steps_offset must be 0 or more, not {self.steps_offset}")


@dataclass(frozen=True)
class SchedulerOutput:
    """One step's result: the less noisy sample, and the current estimate of the clean sample."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def make_betas(config: SchedulerConfig) -> torch.Tensor:
    """The training noise schedule: one beta per training timestep, float32."""
    n = config.num_train_timesteps
    if config.beta_schedule == "linear":
        return torch.linspace(config.beta_start, config.beta_end, n, dtype=torch.float32)
    if config.beta_schedule == "scaled_linear":
        return torch.linspace(config.beta_start**0.5, config.beta_end**0.5, n, dtype=torch.float32) ** 2

    def alpha_bar(t: float) -> float:  # the cosine schedule of Nichol & Dhariwal (2021)
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n), 0.999) for i in range(n)]
    return torch.tensor(betas, dtype=torch.float32)


def _linspace(stop: float, num: int) -> torch.Tensor:
    """``numpy.linspace(0, stop, num)``, float64, to the last bit."""
    if num == 1:
        return torch.zeros(1, dtype=torch.float64)
    values = torch.arange(num, dtype=torch.float64) * (stop / (num - 1))
    values[-1] = stop
    return values


def spaced_timesteps(
    config: SchedulerConfig, num_inference_steps: int, *, extra: bool = False
) -> torch.Tensor:
    """``num_inference_steps`` timesteps from high to low, float64, before rounding.

    ``extra`` spaces one point more and drops the lowest, as DPM-Solver does for ``leading`` and
    ``linspace``. ``trailing`` steps down from the top by ``num_train_timesteps / num_inference_steps``
    the way ``numpy.arange`` does.
    """
    total, n = config.num_train_timesteps, num_inference_steps
    if config.timestep_spacing == "trailing":
        stride = (total - total / n) - total  # numpy.arange's stride, rounding included
        return (total + torch.arange(n, dtype=torch.float64) * stride).round() - 1
    m = n + 1 if extra else n
    if config.timestep_spacing == "linspace":
        values = _linspace(total - 1, m).flip(0)
    else:
        values = (torch.arange(m, dtype=torch.float64) * (total // m)).flip(0) + config.steps_offset
    return values[:n]


def _per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Scalars, one per batch item (or one for all), shaped to broadcast over ``like``."""
    return values.to(device=like.device, dtype=like.dtype).reshape(-1, *[1] * (like.dim() - 1))


def randn(
    shape: torch.Size | tuple[int, ...], generator: Generators, dtype: torch.dtype, device: torch.device | str
) -> torch.Tensor:
    """Standard normal noise, drawn the way diffusers' ``randn_tensor`` draws it.

    A CPU generator draws on the CPU and the noise then moves to ``device``; a list of generators
    draws one batch item from each.
    """
    if isinstance(generator, list):
        if len(generator) == 1:
            generator = generator[0]
        elif len(generator) != shape[0]:
            raise MuseforgeError(f"{len(generator)} generators for a batch of {shape[0]}")
        else:
            one = (1, *shape[1:])
            return torch.cat([randn(one, g, dtype, device) for g in generator])
    on = "cpu" if generator is not None and generator.device.type == "cpu" else device
    return torch.randn(shape, generator=generator, dtype=dtype, device=on).to(device)


class Scheduler:
    """The shared part: training schedule, timesteps, forward noising and the velocity target."""

    name: ClassVar[str] = ""
    order: ClassVar[int] = 1

    def __init__(self, config: SchedulerConfig | None = None, **options: object) -> None:
        known = sorted(f.name for f in fields(SchedulerConfig))
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise MuseforgeError(f"unknown scheduler option {unknown[0]!r}; valid: {', '.join(known)}")
        self.config = replace(config or SchedulerConfig(), **options)
        self.betas = make_betas(self.config)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.num_inference_steps: int | None = None
        self.timesteps = torch.arange(self.config.num_train_timesteps - 1, -1, -1)
        self._positions: dict[float, int] = {}

    @property
    def init_noise_sigma(self) -> float:
        """Standard deviation of the pure noise a sampling loop starts from."""
        return 1.0

    def _timesteps(self, num_inference_steps: int) -> torch.Tensor:
        return spaced_timesteps(self.config, num_inference_steps).round().long()

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Choose the timesteps to sample with (call before each sampling loop).

        A count whose timesteps would leave the training range or repeat is refused (diffusers
        would index past its tables or divide by zero there).
        """
        total = self.config.num_train_timesteps
        try:
            n = operator.index(num_inference_steps)
        except TypeError:
            raise MuseforgeError(
                f"the number of steps must be a whole number, not {num_inference_steps!r}"
            ) from None
        if not 1 <= n <= total:
            raise MuseforgeError(f"the number of steps must be from 1 to {total}, not {n}")
        timesteps = self._timesteps(n)
        values = timesteps.tolist()
        if min(values) < 0 or max(values) > total - 1 or len(set(values)) < n:
            raise MuseforgeError(
                f"{n} steps do not fit {self.config.timestep_spacing} spacing with steps_offset "
                f"{self.config.steps_offset} in {total} training timesteps; use fewer steps"
            )
        self.num_inference_steps = n
        self._positions = {float(v): i for i, v in enumerate(values)}
        self.timesteps = timesteps.to(device)

    def index_for_timestep(self, timestep: float | torch.Tensor) -> int:
        """Position of ``timestep`` in ``timesteps``."""
        if self.num_inference_steps is None:
            raise MuseforgeError(f"{self.name}: call set_timesteps before sampling")
        position = self._positions.get(float(timestep))
        if position is None:
            raise MuseforgeError(f"{self.name}: {float(timestep):g} is not one of the scheduler's timesteps")
        return position

    def scale_model_input(
        self, sample: torch.Tensor, timestep: float | torch.Tensor | None = None
    ) -> torch.Tensor:
        """What the model sees at ``timestep``: ``sample`` itself unless the scheduler rescales it."""
        return sample

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: Generators = None,
    ) -> SchedulerOutput:
        """Denoise ``sample`` from ``timestep`` to the next timestep of the schedule."""
        raise NotImplementedError

    def _alpha_bar(self, timesteps: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        index = torch.as_tensor(timesteps).cpu().long()
        return _per_sample(self.alphas_cumprod.to(like.dtype)[index], like)

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """Forward diffusion of ``original_samples`` to ``timesteps`` (one per sample, or one for all)."""
        alpha_bar = self._alpha_bar(timesteps, original_samples)
        return alpha_bar**0.5 * original_samples + (1 - alpha_bar) ** 0.5 * noise

    def get_velocity(
        self, sample: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """The v-prediction training target ``sqrt(ᾱ)·noise − sqrt(1 − ᾱ)·sample``."""
        alpha_bar = self._alpha_bar(timesteps, sample)
        return alpha_bar**0.5 * noise - (1 - alpha_bar) ** 0.5 * sample

    def _clean_and_noise(
        self, model_output: torch.Tensor, sample: torch.Tensor, alpha_bar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The clean sample and the noise that the model's output implies, with x = √ᾱ·x0 + √(1−ᾱ)·ε."""
        a, b = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
        kind = self.config.prediction_type
        if kind == "epsilon":
            return (sample - b * model_output) / a, model_output
        if kind == "sample":
            return model_output, (sample - a * model_output) / b
        return a * sample - b * model_output, a * model_output + b * sample

    def _clip(self, x0: torch.Tensor) -> torch.Tensor:
        limit = self.config.clip_sample_range
        return x0.clamp(-limit, limit) if self.config.clip_sample else x0


class DDPMScheduler(Scheduler):
    """DDPM (Ho et al. 2020): a draw from the posterior q(x_prev | x_t, x0), strided over the schedule."""

    name = "ddpm"

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: Generators = None,
    ) -> SchedulerOutput:
        """Denoise ``sample`` from ``timestep`` to the next timestep of the schedule."""
        t = int(timestep)
        i = self.index_for_timestep(t)
        prev_t = int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else -1
        alpha_bar = self.alphas_cumprod[t]
        alpha_bar_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else torch.tensor(1.0)
        alpha = alpha_bar / alpha_bar_prev
        beta = 1 - alpha
        x0 = self._clip(self._clean_and_noise(model_output, sample, alpha_bar)[0])
        x0_weight = alpha_bar_prev**0.5 * beta / (1 - alpha_bar)
        x_weight = alpha**0.5 * (1 - alpha_bar_prev) / (1 - alpha_bar)
        prev = x0_weight * x0 + x_weight * sample  # the posterior mean
        if t > 0:  # no noise on the way to the clean sample
            noise = randn(model_output.shape, generator, model_output.dtype, model_output.device)
            if self.config.variance_type == "fixed_small":
                variance = ((1 - alpha_bar_prev) / (1 - alpha_bar) * beta).clamp(min=1e-20)
            else:
                variance = beta
            prev = prev + variance**0.5 * noise
        return SchedulerOutput(prev, x0)


class DDIMScheduler(Scheduler):
    """DDIM (Song et al. 2021): deterministic for ``eta=0``, as noisy as DDPM for ``eta=1``.

    As in diffusers, a step goes from ``t`` to ``t - num_train_timesteps // num_inference_steps``,
    which is the next timestep of the schedule for ``leading`` spacing.
    """

    name = "ddim"

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: Generators = None,
        *,
        eta: float = 0.0,
        use_clipped_model_output: bool = False,
    ) -> SchedulerOutput:
        """Denoise ``sample`` from ``timestep``; ``eta`` (0 to 1) weighs the fresh noise."""
        if self.num_inference_steps is None:
            raise MuseforgeError(f"{self.name}: call set_timesteps before sampling")
        t = int(timestep)
        prev_t = t - self.config.num_train_timesteps // self.num_inference_steps
        alpha_bar = self.alphas_cumprod[t]
        if prev_t >= 0:
            alpha_bar_prev = self.alphas_cumprod[prev_t]
        else:
            alpha_bar_prev = torch.tensor(1.0) if self.config.set_alpha_to_one else self.alphas_cumprod[0]
        x0, eps = self._clean_and_noise(model_output, sample, alpha_bar)
        x0 = self._clip(x0)
        if use_clipped_model_output:
            eps = (sample - alpha_bar**0.5 * x0) / (1 - alpha_bar) ** 0.5
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha_bar / alpha_bar_prev)
        std = eta * variance**0.5
        prev = alpha_bar_prev**0.5 * x0 + (1 - alpha_bar_prev - std**2) ** 0.5 * eps
        if eta > 0:
            prev = prev + std * randn(model_output.shape, generator, model_output.dtype, model_output.device)
        return SchedulerOutput(prev, x0)


class _SigmaScheduler(Scheduler):
    """Schedulers that walk σ = sqrt((1 − ᾱ) / ᾱ), the noise-to-signal ratio, down to 0."""

    def __init__(self, config: SchedulerConfig | None = None, **options: object) -> None:
        super().__init__(config, **options)
        self.train_sigmas = ((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5
        self.sigmas = torch.cat([self.train_sigmas.flip(0), torch.zeros(1)])

    def sigma_at(self, timesteps: torch.Tensor) -> torch.Tensor:
        """σ at (possibly fractional) timesteps, linearly interpolated as ``numpy.interp`` does."""
        table = self.train_sigmas.double()
        t = torch.as_tensor(timesteps).detach().cpu().double().reshape(-1).clamp(0, len(table) - 1)
        low = t.floor().long()
        high = (low + 1).clamp(max=len(table) - 1)
        return ((table[high] - table[low]) * (t - low) + table[low]).float()

    def _set_sigmas(self, final: float) -> None:
        self.sigmas = torch.cat([self.sigma_at(self.timesteps), torch.tensor([final])])


class EulerAncestralScheduler(_SigmaScheduler):
    """Euler steps in σ, each going below the next σ and adding fresh noise back up to it ("Euler a").

    ``timesteps`` are float as in diffusers. Unlike diffusers, ``sample`` prediction is accepted.
    """

    name = "euler-a"

    def __init__(self, config: SchedulerConfig | None = None, **options: object) -> None:
        super().__init__(config, **options)
        self.timesteps = self.timesteps.float()

    @property
    def init_noise_sigma(self) -> float:
        top = self.sigmas.max()
        return float((top**2 + 1) ** 0.5 if self.config.timestep_spacing == "leading" else top)

    def _timesteps(self, num_inference_steps: int) -> torch.Tensor:
        timesteps = spaced_timesteps(self.config, num_inference_steps)
        return (timesteps if self.config.timestep_spacing == "linspace" else timesteps.round()).float()

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        super().set_timesteps(num_inference_steps, device)
        self._set_sigmas(0.0)

    def scale_model_input(
        self, sample: torch.Tensor, timestep: float | torch.Tensor | None = None
    ) -> torch.Tensor:
        """``sample / sqrt(σ² + 1)``, which has unit variance."""
        if timestep is None:
            raise MuseforgeError(f"{self.name}: scale_model_input needs the timestep")
        sigma = self.sigmas[self.index_for_timestep(timestep)]
        return sample / (sigma**2 + 1) ** 0.5

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """``original_samples + σ(t)·noise``, the scale this sampler works in."""
        return original_samples + _per_sample(self.sigma_at(timesteps), original_samples) * noise

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: Generators = None,
    ) -> SchedulerOutput:
        """Denoise ``sample`` from ``timestep`` to the next timestep, noise included."""
        i = self.index_for_timestep(timestep)
        sigma, sigma_next = self.sigmas[i], self.sigmas[i + 1]
        x = sample.float()
        kind = self.config.prediction_type
        if kind == "epsilon":
            x0 = x - sigma * model_output
        elif kind == "v_prediction":
            x0 = model_output * (-sigma / (sigma**2 + 1) ** 0.5) + x / (sigma**2 + 1)
        else:
            x0 = model_output.float()
        # split σ_next² = σ_down² + σ_up²: deterministic Euler step to σ_down, then noise of σ_up
        sigma_up = (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2) ** 0.5
        sigma_down = (sigma_next**2 - sigma_up**2) ** 0.5
        prev = x + (x - x0) / sigma * (sigma_down - sigma)
        prev = prev + randn(model_output.shape, generator, model_output.dtype, model_output.device) * sigma_up
        return SchedulerOutput(prev.to(model_output.dtype), x0)


class DPMSolverMultistepScheduler(_SigmaScheduler):
    """DPM-Solver++ 2M (Lu et al. 2022): second-order multistep on the clean-sample prediction.

    The midpoint form, as diffusers' default. The first step is first order, and so is the last when
    the final σ is 0 (``final_sigmas_type="zero"``) or, with ``lower_order_final``, in schedules
    under 15 steps. The scheduler keeps the previous step's prediction: ``set_timesteps`` starts over.
    """

    name = "dpmpp-2m"

    def __init__(self, config: SchedulerConfig | None = None, **options: object) -> None:
        super().__init__(config, **options)
        self._previous: tuple[int, torch.Tensor] | None = None

    def _timesteps(self, num_inference_steps: int) -> torch.Tensor:
        return spaced_timesteps(self.config, num_inference_steps, extra=True).round().long()

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        super().set_timesteps(num_inference_steps, device)
        self._set_sigmas(self.train_sigmas[0].item() if self.config.final_sigmas_type == "sigma_min" else 0.0)
        self._previous = None

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        """Forward diffusion of ``original_samples`` to ``timesteps``, through σ."""
        alpha, sigma = _alpha_sigma(_per_sample(self.sigma_at(timesteps), original_samples))
        return alpha * original_samples + sigma * noise

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: Generators = None,
    ) -> SchedulerOutput:
        """Denoise ``sample`` from ``timestep`` to the next timestep; deterministic, ``generator`` unused."""
        i = self.index_for_timestep(timestep)
        alpha_s, sigma_s = _alpha_sigma(self.sigmas[i])
        kind = self.config.prediction_type
        if kind == "epsilon":
            x0 = (sample - sigma_s * model_output) / alpha_s
        elif kind == "v_prediction":
            x0 = alpha_s * sample - sigma_s * model_output
        else:
            x0 = model_output
        previous, self._previous = self._previous, (i, x0)
        if self.sigmas[i + 1] == 0:  # the limit of the update below
            return SchedulerOutput(x0.to(model_output.dtype, copy=True), x0)
        alpha_t, sigma_t = _alpha_sigma(self.sigmas[i + 1])
        h = _lambda(alpha_t, sigma_t) - _lambda(alpha_s, sigma_s)
        weight = alpha_t * (torch.exp(-h) - 1.0)
        prev = (sigma_t / sigma_s) * sample.float() - weight * x0  # first order, the same as DDIM
        last_short = (
            i == len(self.timesteps) - 1 and self.config.lower_order_final and len(self.timesteps) < 15
        )
        if previous is not None and previous[0] == i - 1 and not last_short:
            # second order: the change of the prediction since the previous step, per unit of λ
            r = (_lambda(alpha_s, sigma_s) - _lambda(*_alpha_sigma(self.sigmas[i - 1]))) / h
            prev = prev - 0.5 * weight * ((1.0 / r) * (x0 - previous[1]))
        return SchedulerOutput(prev.to(model_output.dtype), x0)


def _alpha_sigma(sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales (α_t, σ_t) of the variance-preserving process at noise ratio σ."""
    alpha = 1 / (sigma**2 + 1) ** 0.5
    return alpha, sigma * alpha


def _lambda(alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """λ = log(α_t / σ_t), half the log signal-to-noise ratio."""
    return torch.log(alpha) - torch.log(sigma)


SAMPLERS: dict[str, type[Scheduler]] = {
    "ddpm": DDPMScheduler,
    "ddim": DDIMScheduler,
    "euler-a": EulerAncestralScheduler,
    "dpmpp-2m": DPMSolverMultistepScheduler,
}
"""Sampler names and their schedulers."""

A1111_NAMES = SAMPLER_NAMES
"""The sampler names AUTOMATIC1111 writes in its PNG ``parameters`` text."""


def make_scheduler(name: str, **config: object) -> Scheduler:
    """The scheduler called ``name`` in ``SAMPLERS``, with ``config`` overriding the defaults."""
    cls = SAMPLERS.get(name)
    if cls is None:
        raise MuseforgeError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")
    return cls(**config)


def img2img_timesteps(
    scheduler: Scheduler, num_inference_steps: int, strength: float, device: str | torch.device | None = None
) -> tuple[torch.Tensor, int]:
    """Set the scheduler's timesteps and keep the last ``strength`` share of them, for image to image.

    Returns ``(timesteps, steps_to_run)`` as diffusers' img2img pipeline computes them; noise the
    starting latents to ``timesteps[:1]`` with ``add_noise``, then sample over ``timesteps``.
    """
    if not 0.0 <= strength <= 1.0:
        raise MuseforgeError(f"strength must be from 0 to 1, not {strength}")
    scheduler.set_timesteps(num_inference_steps, device)
    steps = min(int(num_inference_steps * strength), num_inference_steps)
    if steps == 0:
        raise MuseforgeError(f"strength {strength} leaves none of the {num_inference_steps} steps to run")
    start = num_inference_steps - steps
    return scheduler.timesteps[start * scheduler.order :], steps
