"""The schedulers against diffusers': timesteps, sigmas, and every step of whole sampling loops."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from museforge.errors import MuseforgeError
from museforge.image.diffusion import schedulers as sch
from museforge.image.diffusion.schedulers import (
    A1111_NAMES,
    SAMPLERS,
    SchedulerConfig,
    img2img_timesteps,
    make_scheduler,
)

diffusers = pytest.importorskip("diffusers")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

THEIRS = {
    "ddpm": diffusers.DDPMScheduler,
    "ddim": diffusers.DDIMScheduler,
    "euler-a": diffusers.EulerAncestralDiscreteScheduler,
    "dpmpp-2m": diffusers.DPMSolverMultistepScheduler,
}
COMMON = (
    "num_train_timesteps",
    "beta_start",
    "beta_end",
    "beta_schedule",
    "prediction_type",
    "timestep_spacing",
    "steps_offset",
)
EXTRA = {
    "ddpm": ("clip_sample", "clip_sample_range", "variance_type"),
    "ddim": ("clip_sample", "clip_sample_range", "set_alpha_to_one"),
    "euler-a": (),
    "dpmpp-2m": ("lower_order_final", "final_sigmas_type"),
}
SHAPE = (2, 4, 8, 8)
ATOL = 1e-5
DDPM_BETAS = {"beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02}  # diffusers' defaults


def pair(name: str, **config):
    """Our scheduler and diffusers' with the same settings."""
    ours = make_scheduler(name, **config)
    settings = {key: getattr(ours.config, key) for key in COMMON + EXTRA[name]}
    if name == "dpmpp-2m":
        settings.update(algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint")
    return ours, THEIRS[name](**settings)


def tensors(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


def model(x: torch.Tensor, t: torch.Tensor, pattern: torch.Tensor) -> torch.Tensor:
    """A fixed stand-in for the UNet: mostly its input, plus a pattern that turns with t."""
    return 0.9 * x + 0.1 * math.sin(float(t) / 37) * pattern


def close(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)
    return (ours - theirs).abs().max().item()


def same_schedule(ours, theirs) -> None:
    assert torch.equal(ours.timesteps, theirs.timesteps) and ours.timesteps.dtype == theirs.timesteps.dtype
    if hasattr(theirs, "sigmas"):
        assert torch.equal(ours.sigmas, theirs.sigmas)
    assert ours.init_noise_sigma == float(theirs.init_noise_sigma)


def sample_both(name, ours, theirs, timesteps, x, *, eta=0.0, clipped=False, seed=1) -> float:
    """Run one loop through both schedulers; check every step and return the largest gap seen."""
    _, pattern = tensors(7)
    mine, yours = x.clone(), x.clone()
    g_mine, g_yours = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    extra = {"eta": eta, "use_clipped_model_output": clipped} if name == "ddim" else {}
    gap = 0.0
    for t in timesteps:
        a, b = ours.scale_model_input(mine, t), theirs.scale_model_input(yours, t)
        gap = max(gap, close(a, b))
        out = ours.step(model(a, t, pattern), t, mine, generator=g_mine, **extra)
        ref = theirs.step(model(b, t, pattern), t, yours, generator=g_yours, **extra)
        x0 = theirs.model_outputs[-1] if name == "dpmpp-2m" else ref.pred_original_sample
        gap = max(gap, close(out.prev_sample, ref.prev_sample), close(out.pred_original_sample, x0))
        mine, yours = out.prev_sample, ref.prev_sample
    assert torch.equal(g_mine.get_state(), g_yours.get_state())  # the same noise was drawn
    return gap


CASES = [
    # (sampler, steps, config, eta, use_clipped_model_output)
    ("ddpm", 1, {}, 0.0, False),
    ("ddpm", 10, {}, 0.0, False),
    ("ddpm", 50, {}, 0.0, False),
    ("ddpm", 25, {**DDPM_BETAS, "clip_sample": True}, 0.0, False),
    ("ddpm", 10, {"beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "trailing"}, 0.0, False),
    ("ddpm", 25, {"prediction_type": "v_prediction", "timestep_spacing": "linspace"}, 0.0, False),
    ("ddpm", 2, {"prediction_type": "sample", "variance_type": "fixed_large"}, 0.0, False),
    ("ddpm", 10, {"variance_type": "fixed_large", "steps_offset": 0}, 0.0, False),
    ("ddim", 1, {}, 0.0, False),
    ("ddim", 2, {}, 0.7, False),
    ("ddim", 25, {}, 0.0, False),
    ("ddim", 50, {}, 0.7, False),
    ("ddim", 10, {"set_alpha_to_one": True, "timestep_spacing": "trailing"}, 0.7, False),
    ("ddim", 25, {"beta_schedule": "linear", "prediction_type": "v_prediction"}, 0.0, False),
    ("ddim", 10, {"beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace"}, 0.7, False),
    ("ddim", 25, {"prediction_type": "sample", "clip_sample": True, "clip_sample_range": 1.5}, 0.7, True),
    ("ddim", 10, {"clip_sample": True}, 0.0, True),
    ("euler-a", 1, {}, 0.0, False),
    ("euler-a", 2, {}, 0.0, False),
    ("euler-a", 25, {}, 0.0, False),
    ("euler-a", 50, {"timestep_spacing": "linspace"}, 0.0, False),
    ("euler-a", 10, {"timestep_spacing": "trailing", "prediction_type": "v_prediction"}, 0.0, False),
    ("euler-a", 25, {"beta_schedule": "squaredcos_cap_v2", "timestep_spacing": "linspace"}, 0.0, False),
    ("euler-a", 10, {**DDPM_BETAS, "steps_offset": 0}, 0.0, False),
    ("dpmpp-2m", 1, {}, 0.0, False),
    ("dpmpp-2m", 2, {}, 0.0, False),
    ("dpmpp-2m", 10, {}, 0.0, False),
    ("dpmpp-2m", 25, {}, 0.0, False),
    ("dpmpp-2m", 50, {"timestep_spacing": "linspace", "prediction_type": "v_prediction"}, 0.0, False),
    ("dpmpp-2m", 10, {"timestep_spacing": "trailing", "beta_schedule": "squaredcos_cap_v2"}, 0.0, False),
    ("dpmpp-2m", 25, {"prediction_type": "sample", "beta_schedule": "linear"}, 0.0, False),
    ("dpmpp-2m", 10, {"final_sigmas_type": "sigma_min"}, 0.0, False),
    ("dpmpp-2m", 10, {"final_sigmas_type": "sigma_min", "lower_order_final": False}, 0.0, False),
    ("dpmpp-2m", 20, {"final_sigmas_type": "sigma_min", "timestep_spacing": "trailing"}, 0.0, False),
]


@pytest.mark.parametrize(("name", "steps", "config", "eta", "clipped"), CASES)
def test_sampling_loop_matches_diffusers(name, steps, config, eta, clipped):
    ours, theirs = pair(name, **config)
    ours.set_timesteps(steps)
    theirs.set_timesteps(steps)
    same_schedule(ours, theirs)
    noise, _ = tensors()
    x = noise * ours.init_noise_sigma
    assert sample_both(name, ours, theirs, ours.timesteps, x, eta=eta, clipped=clipped) <= ATOL


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("spacing", sch.SPACINGS)
def test_timesteps_match_diffusers_for_every_count_that_fits(name, spacing):
    for offset in (0, 1):
        ours, theirs = pair(name, timestep_spacing=spacing, steps_offset=offset)
        for steps in [*range(1, 121), 250, 333, 500, 998, 999, 1000]:
            theirs.set_timesteps(steps)
            values = theirs.timesteps.tolist()
            if len(values) == steps + 1:  # numpy.arange overshoots: diffusers adds a step at t=-1
                ours.set_timesteps(steps)
                assert spacing == "trailing" and values[-1] == -1
                assert torch.equal(ours.timesteps, theirs.timesteps[:-1])
            elif min(values) < 0 or max(values) > 999 or len(set(values)) < steps:  # unusable there
                with pytest.raises(MuseforgeError, match="use fewer steps"):
                    ours.set_timesteps(steps)
            else:
                ours.set_timesteps(steps)
                same_schedule(ours, theirs)
                assert ours.num_inference_steps == steps == len(ours.timesteps)


@pytest.mark.parametrize("name", SAMPLERS)
def test_step_counts_that_do_not_fit_are_refused(name):
    scheduler = make_scheduler(name)
    for bad in (0, -3, 1001):
        with pytest.raises(MuseforgeError, match="from 1 to 1000"):
            scheduler.set_timesteps(bad)
    with pytest.raises(MuseforgeError, match="whole number"):
        scheduler.set_timesteps(2.5)  # type: ignore[arg-type]
    # leading spacing with steps_offset=1 would reach t=1000 (diffusers indexes past its tables)
    with pytest.raises(MuseforgeError, match="use fewer steps"):
        scheduler.set_timesteps(1000)
    make_scheduler(name, steps_offset=0, timestep_spacing="trailing").set_timesteps(1000)


@pytest.mark.parametrize("name", SAMPLERS)
def test_add_noise_and_scale_model_input_match_diffusers(name):
    for config in ({}, {"timestep_spacing": "linspace", "beta_schedule": "squaredcos_cap_v2"}):
        ours, theirs = pair(name, **config)
        ours.set_timesteps(20)
        theirs.set_timesteps(20)
        x, noise = tensors(3)
        for i in (0, 7, 19):
            t = ours.timesteps[i : i + 1]
            close(ours.add_noise(x, noise, t), theirs.add_noise(x, noise, t))
            theirs.set_timesteps(20)  # diffusers' Euler scales by its step counter, set by its first call
            close(ours.scale_model_input(x, t[0]), theirs.scale_model_input(x, t[0]))
        per_sample = ours.timesteps[[2, 15]]  # one timestep per batch item
        close(ours.add_noise(x, noise, per_sample), theirs.add_noise(x, noise, per_sample))


def test_training_noise_and_velocity_match_diffusers():
    for config in ({}, {"beta_schedule": "squaredcos_cap_v2"}, {"beta_schedule": "linear"}):
        ours, theirs = pair("ddpm", **config)
        x, noise = tensors(4)
        t = torch.tensor([0, 999])
        close(ours.add_noise(x, noise, t), theirs.add_noise(x, noise, t))
        close(ours.get_velocity(x, noise, t), theirs.get_velocity(x, noise, t))
        half = ours.add_noise(x.half(), noise.half(), t)
        assert half.dtype == torch.float16
        torch.testing.assert_close(half, theirs.add_noise(x.half(), noise.half(), t), atol=0, rtol=0)


def test_euler_sample_prediction_equals_the_epsilon_it_implies():
    """diffusers refuses ``sample`` prediction for Euler; ours must agree with the epsilon it implies."""
    ours = make_scheduler("euler-a", prediction_type="sample")
    _, theirs = pair("euler-a")
    ours.set_timesteps(10)
    theirs.set_timesteps(10)
    x = tensors()[0] * ours.init_noise_sigma
    mine, yours = x.clone(), x.clone()
    g_mine, g_yours = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for i, t in enumerate(ours.timesteps):
        x0 = 0.5 * ours.scale_model_input(mine, t)
        out = ours.step(x0, t, mine, generator=g_mine)
        eps = (yours - 0.5 * theirs.scale_model_input(yours, t)) / theirs.sigmas[i]
        ref = theirs.step(eps, t, yours, generator=g_yours)
        torch.testing.assert_close(out.prev_sample, ref.prev_sample, atol=1e-4, rtol=1e-5)
        mine, yours = out.prev_sample, ref.prev_sample


def diffusers_get_timesteps():
    """``StableDiffusionImg2ImgPipeline.get_timesteps`` compiled from diffusers' source (importing
    the pipeline would load transformers)."""
    spec = importlib.util.find_spec("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img")
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "get_timesteps")
    namespace: dict = {}
    exec(compile(ast.Module([func], type_ignores=[]), spec.origin, "exec"), namespace)
    return namespace["get_timesteps"]


@pytest.mark.parametrize("name", SAMPLERS)
def test_img2img_starts_part_way_as_diffusers_does(name):
    get_timesteps = diffusers_get_timesteps()
    for steps, strength in ((10, 1.0), (25, 0.75), (50, 0.3), (7, 0.5)):
        ours, theirs = pair(name)
        timesteps, count = img2img_timesteps(ours, steps, strength)
        theirs.set_timesteps(steps)
        ref_timesteps, ref_count = get_timesteps(SimpleNamespace(scheduler=theirs), steps, strength, "cpu")
        assert count == ref_count == len(timesteps) and torch.equal(timesteps, ref_timesteps)
        image, noise = tensors(9)
        start = timesteps[:1].repeat(SHAPE[0])
        latents = ours.add_noise(image, noise, start)
        close(latents, theirs.add_noise(image, noise, start))
        assert sample_both(name, ours, theirs, timesteps, latents, eta=0.3) <= ATOL


def test_img2img_refuses_strengths_that_run_nothing():
    scheduler = make_scheduler("ddim")
    with pytest.raises(MuseforgeError, match="from 0 to 1"):
        img2img_timesteps(scheduler, 10, 1.5)
    with pytest.raises(MuseforgeError, match="leaves none of the 10 steps"):
        img2img_timesteps(scheduler, 10, 0.05)


def test_noise_is_drawn_as_diffusers_draws_it():
    from diffusers.utils.torch_utils import randn_tensor

    for seeds in ((3,), (3, 4)):
        mine = [torch.Generator().manual_seed(s) for s in seeds]
        yours = [torch.Generator().manual_seed(s) for s in seeds]
        ours = sch.randn(SHAPE, mine if len(seeds) > 1 else mine[0], torch.float32, "cpu")
        theirs = randn_tensor(
            SHAPE, generator=yours if len(seeds) > 1 else yours[0], device=torch.device("cpu")
        )
        assert torch.equal(ours, theirs)


def test_registry_names_and_errors():
    assert set(SAMPLERS) == set(A1111_NAMES) == {"ddpm", "ddim", "euler-a", "dpmpp-2m"}
    assert A1111_NAMES["euler-a"] == "Euler a" and A1111_NAMES["dpmpp-2m"] == "DPM++ 2M"
    for name, cls in SAMPLERS.items():
        scheduler = make_scheduler(name)
        assert isinstance(scheduler, cls) and cls.name == name and scheduler.order == 1
        assert scheduler.config == SchedulerConfig()
    with pytest.raises(MuseforgeError) as err:
        make_scheduler("heun")
    assert "\n" not in str(err.value) and all(name in str(err.value) for name in SAMPLERS)
    with pytest.raises(MuseforgeError, match="unknown scheduler option 'eta'"):
        make_scheduler("ddim", eta=0.5)
    with pytest.raises(MuseforgeError, match="unknown beta_schedule 'cosine'"):
        make_scheduler("ddpm", beta_schedule="cosine")
    with pytest.raises(MuseforgeError, match="call set_timesteps"):
        make_scheduler("euler-a").step(torch.zeros(SHAPE), 999.0, torch.zeros(SHAPE))
    scheduler = make_scheduler("dpmpp-2m")
    scheduler.set_timesteps(10)
    with pytest.raises(MuseforgeError, match="not one of the scheduler's timesteps"):
        scheduler.step(torch.zeros(SHAPE), 500, torch.zeros(SHAPE))


def test_defaults_are_stable_diffusions():
    config = SchedulerConfig()
    assert (config.beta_schedule, config.beta_start, config.beta_end) == ("scaled_linear", 0.00085, 0.012)
    assert (config.timestep_spacing, config.steps_offset, config.num_train_timesteps) == ("leading", 1, 1000)
    assert not config.clip_sample and not config.set_alpha_to_one


def test_diffusers_is_not_needed_at_run_time():
    tree = ast.parse(inspect.getsource(sch))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {
        "__future__",
        "math",
        "operator",
        "dataclasses",
        "typing",
        "torch",
        "museforge.errors",
        "museforge.image.diffusion",  # the sampler names, a torch-free table
    }
