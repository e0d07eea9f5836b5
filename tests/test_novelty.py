"""The goldfish loss mask and its wiring into the text and melody models' training."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from museforge.errors import MuseforgeError
from museforge.music.melody_model import N_DUR, N_PITCH, MelodyConfig, MelodyModel
from museforge.originality.novelty import goldfish_keep, note_tokens
from museforge.text.model import GPT, GPTConfig

ROOT = Path(__file__).resolve().parents[1]


def _tokens(shape: tuple[int, ...], vocab: int = 40, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("k", [2, 4, 8])
def test_drop_rate_is_one_in_k(k: int) -> None:
    dropped = 1 - goldfish_keep(_tokens((8, 2000)), k).float().mean().item()
    assert abs(dropped - 1 / k) < 0.02


def test_mask_depends_only_on_the_context() -> None:
    h = 5
    doc = _tokens((300,), seed=1)
    keep = goldfish_keep(doc, 4, h)
    for shift in (7, 50):  # the same text later in another sequence: the same tokens go
        other = torch.cat([_tokens((shift,), seed=shift), doc])
        assert torch.equal(goldfish_keep(other, 4, h)[shift + h :], keep[h:])
    changed = doc.clone()
    changed[100] = (changed[100] + 1) % 40  # the masks differ only where the context sees it
    diff = (goldfish_keep(changed, 4, h) != keep).nonzero().flatten().tolist()
    assert diff and all(101 <= i <= 100 + h for i in diff)
    assert torch.equal(goldfish_keep(doc, 4, h), keep)  # deterministic
    assert not torch.equal(goldfish_keep(doc, 4, h, salt=1), keep)


def test_document_starts_reset_the_context() -> None:
    doc = _tokens((60,), seed=2)
    stream = torch.cat([doc, doc, doc])
    keep = goldfish_keep(stream, 3, 6, starts=torch.tensor([0, 60, 120]))
    assert torch.equal(keep[:60], keep[60:120]) and torch.equal(keep[:60], keep[120:])
    plain = goldfish_keep(stream, 3, 6)
    assert not torch.equal(plain[:60], plain[60:120])  # without starts the previous document leaks in


def test_k_zero_is_off_and_bad_arguments_fail() -> None:
    assert bool(goldfish_keep(_tokens((3, 50)), 0).all())
    with pytest.raises(MuseforgeError):
        goldfish_keep(_tokens((10,)), -1)
    with pytest.raises(MuseforgeError):
        goldfish_keep(_tokens((10,)), 4, h=0)
    with pytest.raises(MuseforgeError):
        goldfish_keep(torch.zeros(10), 4)
    assert note_tokens(torch.tensor([1]), torch.tensor([2]), N_DUR).item() == N_DUR + 2


def test_gpt_loss_counts_only_kept_targets() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16))
    x, y = _tokens((3, 16), 30, 3), _tokens((3, 16), 30, 4)
    keep = goldfish_keep(y, 3, 4)
    logits, plain, _ = model(x, y)
    _, masked, _ = model(x, y, loss_mask=keep)
    nll = F.cross_entropy(logits.reshape(-1, 30), y.reshape(-1), reduction="none")
    by_hand = (nll * keep.reshape(-1)).sum() / keep.sum()
    assert masked is not None and plain is not None
    assert torch.allclose(masked, by_hand, atol=1e-6)
    assert torch.allclose(plain, nll.mean(), atol=1e-6)
    assert abs(masked.item() - plain.item()) > 1e-4
    _, all_kept, _ = model(x, y, loss_mask=torch.ones_like(y, dtype=torch.bool))
    assert torch.equal(all_kept, plain)


DOCS = ["<qijue>《春》\n白日依山尽，黄河入海流。<eos>", "<qijue>《秋》\n欲穷千里目，更上一层楼。<eos>"] * 8


def _text_family(k: int):
    from museforge.train.text import TextFamily

    return TextFamily(DOCS, DOCS[:4], shape={"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16},
                      goldfish_k=k)  # fmt: skip


def _first_loss(k: int, tmp: Path) -> tuple[float, object]:
    """The first step's training loss of the shared loop on the tiny family."""
    from museforge.train import loop

    family = _text_family(k)
    fresh = GPT(family.model.config)
    fresh.load_state_dict(family.model.state_dict())
    cfg = loop.LoopConfig(steps=1, batch=4, warmup=1, eval_every=1, checkpoint_every=1)
    summary = loop.run(family, cfg, tmp / f"k{k}", accelerator=loop.make_accelerator("cpu"))
    return summary.train_loss[0][1], (family, fresh, cfg)


def test_text_training_k_zero_is_the_old_loss_and_k_changes_it(tmp_path: Path) -> None:
    from museforge.train.loop import step_seed

    plain, (family, fresh, cfg) = _first_loss(0, tmp_path)
    x, y, _ = family.batch(torch.Generator().manual_seed(step_seed(cfg.seed, 0)), cfg.batch)
    torch.manual_seed(step_seed(cfg.seed, 0))
    _, every, _ = fresh.train()(x, y)  # every target counted
    assert every is not None and plain == round(every.item(), 6)
    fish, (fish_family, fresh2, _) = _first_loss(2, tmp_path)
    assert fish != plain and fish_family.fingerprint()["goldfish_k"] == 2
    x2, y2, keep2 = fish_family.batch(torch.Generator().manual_seed(step_seed(cfg.seed, 0)), cfg.batch)
    assert torch.equal(x2, x) and not bool(keep2.all())
    ids, starts, _ = fish_family.train_streams["all"]
    whole = goldfish_keep(ids, 2, fish_family.goldfish_h, starts=starts)
    assert torch.equal(keep2, whole[_positions(ids, y2)])
    torch.manual_seed(step_seed(cfg.seed, 0))
    _, masked, _ = fresh2.train()(x2, y2, loss_mask=keep2)
    assert masked is not None and fish == round(masked.item(), 6)


def _positions(ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Stream positions of each target row (rows are windows starting at a document start)."""
    n = targets.shape[1]
    rows = []
    for row in targets:
        at = next(i for i in range(1, len(ids) - n + 1) if torch.equal(ids[i : i + n], row))
        rows.append(torch.arange(at, at + n))
    return torch.stack(rows)


def _melody_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    b, t = 3, 20
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[2, 15:] = False  # a shorter tune, padded
    return {
        "prev_p": torch.randint(0, N_PITCH, (b, t), generator=g),
        "prev_d": torch.randint(0, N_DUR, (b, t), generator=g),
        "pos": torch.randint(0, 96, (b, t), generator=g),
        "meter": torch.tensor([0, 1, 2]),
        "mode": torch.tensor([0, 1, 0]),
        "next_p": torch.randint(0, N_PITCH - 1, (b, t), generator=g),
        "next_d": torch.randint(0, N_DUR - 1, (b, t), generator=g),
        "mask": mask,
    }


def test_melody_loss_counts_only_kept_notes_and_trains() -> None:
    torch.manual_seed(0)
    model = MelodyModel(MelodyConfig(d_model=16, layers=1, dropout=0.0)).eval()
    batch = _melody_batch()
    keep = goldfish_keep(note_tokens(batch["next_p"], batch["next_d"], N_DUR), 3, 4)
    lp, ld = model.loss(batch)
    kp, kd = model.loss(batch, keep)
    lp_logits, ld_logits, _ = model(
        *(batch[k] for k in ("prev_p", "prev_d", "pos", "meter", "mode", "next_p"))
    )
    m = (batch["mask"] & keep).float()
    nll_p = F.cross_entropy(lp_logits.transpose(1, 2), batch["next_p"], reduction="none")
    nll_d = F.cross_entropy(ld_logits.transpose(1, 2), batch["next_d"], reduction="none")
    assert torch.allclose(kp, (nll_p * m).sum() / m.sum(), atol=1e-6)
    assert torch.allclose(kd, (nll_d * m).sum() / m.sum(), atol=1e-6)
    assert abs(kp.item() - lp.item()) > 1e-4
    lp2, ld2 = model.loss(batch, torch.ones_like(keep))
    assert torch.equal(lp2, lp) and torch.equal(ld2, ld)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = sum(model.loss(batch, keep))
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def _recipe() -> object:
    spec = importlib.util.spec_from_file_location("music_melody_recipe", ROOT / "recipes" / "music_melody.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_melody_recipe_masks_whole_tunes_and_crops_them() -> None:
    recipe = _recipe()
    g = torch.Generator().manual_seed(1)
    tune = {
        "p": torch.randint(1, 40, (50,), generator=g).numpy(),
        "d": torch.randint(0, 6, (50,), generator=g).numpy(),
        "pos": torch.zeros(50, dtype=torch.long).numpy(),
        "meter": 0,
        "mode": 0,
    }
    assert recipe.with_keep([tune], 0, 13) == [tune]
    (fish,) = recipe.with_keep([tune], 4, 5)
    whole = goldfish_keep(note_tokens(torch.as_tensor(tune["p"]), torch.as_tensor(tune["d"]), N_DUR), 4, 5)
    assert torch.equal(torch.as_tensor(fish["keep"]), whole)
    batch = recipe.collate([(fish, 10, 40), (fish, 0, 20)])
    assert torch.equal(batch["keep"][0, :30], whole[10:40]) and torch.equal(batch["keep"][1, :20], whole[:20])
    assert not batch["keep"][1, 20:].any()
    assert "keep" not in recipe.collate([(tune, 0, 20)])
