"""`seaembed train` end to end on the tiny model: output directory, frozen embeddings, LoRA, cached + Matryoshka,
errors, resume after `kill -9` with no example lost or repeated, and a 2-process (gloo) run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from seaembed.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _write_data(d: Path, n_cat: int = 40, n_ret: int = 40) -> tuple[Path, Path]:
    cats = ["sepatu", "tas", "kaos", "celana", "topi"]
    rows = []
    for i in range(n_cat):
        c = cats[i % 5]
        rows.append({"query": f"{c} model {i} ukuran {i % 7}", "positive": f"kategori {c}", "task": "title-category",
                     "label": c, "negatives": [f"kategori {cats[(i + 1) % 5]}"]})
    for i in range(n_ret):
        rows.append({"query": f"cari barang {i} murah", "positive": f"barang nomor {i} kualitas bagus",
                     "task": "query-item"})
    train = d / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dev = d / "dev.jsonl"
    dev.write_text("".join(json.dumps(r) + "\n" for r in rows[:10] + rows[n_cat:n_cat + 10]))
    return train, dev


def _config(d: Path, model_dir: Path, **overrides) -> Path:
    train, dev = _write_data(d)
    cfg = {"model": str(model_dir), "train_files": [train.name], "dev_file": dev.name, "output_dir": "out",
           "batch_size": 8, "epochs": 1, "checkpoint_steps": 3, "learning_rate": 1e-3, "logging_steps": 2,
           "seed": 3, **overrides}
    path = d / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / "model.safetensors"))


def _seen(out: Path, name: str = "examples_seen.jsonl") -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def test_cli_trains_and_writes_a_sentence_transformers_dir(tmp_path, tiny_model_dir):
    from sentence_transformers import SentenceTransformer
    from typer.testing import CliRunner

    from seaembed.cli import app

    cfg = _config(tmp_path, tiny_model_dir, max_seq_length=16)
    result = CliRunner().invoke(app, ["train", str(cfg), "--max-steps", "4"])
    assert result.exit_code == 0, result.output
    model_dir = tmp_path / "out" / "model"
    assert f"model: {model_dir}" in result.output
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.prompts.get("query") == "query: " and model.prompts.get("passage") == "passage: "
    # max_seq_length is a training-time truncation; the saved model keeps the base's limit
    assert model.max_seq_length == SentenceTransformer(str(tiny_model_dir), device="cpu").max_seq_length == 128
    emb = model.encode(["sepatu lari"], normalize_embeddings=True)
    assert emb.shape == (1, 32)
    card = (model_dir / "README.md").read_text()
    assert "CAMInfoNCELoss" in card and "train.jsonl" in card and "2601.11565" in card
    before, after = _weights(tiny_model_dir), _weights(model_dir)
    emb_key = next(k for k in before if "word_embeddings" in k)
    assert torch.equal(before[emb_key], after[emb_key])  # frozen on CPU by default
    changed = [k for k in before if "word_embeddings" not in k and not torch.equal(before[k], after[k])]
    assert changed  # the rest trained
    seen = _seen(tmp_path / "out")
    assert [r["step"] for r in seen] == [1, 2, 3, 4]
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["global_step"] == 4 and summary["examples"] == 80
    assert any("eval_sequential_score" in h for h in summary["log_history"])  # the dev evaluation ran
    keys = json.loads((tmp_path / "out" / "class_keys.json").read_text())
    assert set(keys["keys"]["title-category"]) == {"sepatu", "tas", "kaos", "celana", "topi"}


def test_lora_run_merges_adapters(tmp_path, tiny_model_dir):
    from seaembed.train.config import load_train_config
    from seaembed.train.trainer import train

    cfg = load_train_config(_config(tmp_path, tiny_model_dir, max_steps=3, dev_file=None,
                                    lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["query", "value"]}))
    model_dir = train(cfg, progress=False)
    before, after = _weights(tiny_model_dir), _weights(model_dir)
    assert set(before) == set(after)  # merged: a plain model, no lora_A/lora_B tensors
    q = next(k for k in before if k.endswith("attention.self.query.weight"))
    k = next(k for k in before if k.endswith("attention.self.key.weight"))
    assert not torch.equal(before[q], after[q])  # the adapted projection moved
    assert torch.equal(before[k], after[k])  # untargeted weights are untouched
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["lora_merged"] is True
    assert summary["trainable_parameters"] < summary["total_parameters"] / 5


def test_cached_loss_with_matryoshka_and_gte_terms(tmp_path, tiny_model_dir):
    from seaembed.train.config import load_train_config
    from seaembed.train.trainer import train

    cfg = load_train_config(_config(tmp_path, tiny_model_dir, max_steps=2, dev_file=None, matryoshka_dims=[32, 16],
                                    loss={"cached": True, "mini_batch_size": 3, "query_query": True,
                                          "doc_doc": True}))
    train(cfg, progress=False)
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["loss"] == "MatryoshkaLoss" and summary["loss_config"]["loss"] == "CachedCAMInfoNCELoss"
    losses = [h["loss"] for h in summary["log_history"] if "loss" in h]
    assert losses and all(x == x and x > 0 for x in losses)


def test_bad_training_row_names_file_line_and_field(tmp_path):
    from seaembed.train.data import load_training_data

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "a", "positive": "b"}\n{"query": "c", "positive": ""}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl:2: field 'positive'"):
        load_training_data([bad])


def test_bad_config_is_a_config_error(tmp_path):
    from seaembed.train.config import load_train_config

    p = tmp_path / "c.yaml"
    p.write_text("train_files: [a.jsonl]\noutput_dir: o\nbatch_size: 0\nlosss: {}\n")
    with pytest.raises(ConfigError, match="batch_size") as e:
        load_train_config(p)
    assert "losss" in str(e.value)


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1", **extra}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _complete_checkpoints(out: Path) -> list[Path]:
    root = out / "checkpoints"
    return sorted(root.glob("checkpoint-*/.complete")) if root.exists() else []


def _checkpoint_steps(out: Path) -> list[int]:
    return sorted(int(p.parent.name.split("-")[1]) for p in _complete_checkpoints(out))


@pytest.mark.parametrize("kill_epoch", [0, 1])
def test_resume_after_kill_loses_and_repeats_nothing(tmp_path, tiny_model_dir, kill_epoch):
    # 80 examples, batch 8, 2 epochs: ~22 steps (duplicates split a few batches); checkpoint every 3 steps.
    # kill_epoch 0: killed after the second checkpoint; 1: after the first checkpoint of the second epoch.
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir()
    run_dir.mkdir()
    cmd = [sys.executable, "-m", "seaembed.cli", "train"]
    ref_cfg = _config(ref_dir, tiny_model_dir, epochs=2, dev_file=None)
    subprocess.run([*cmd, str(ref_cfg)], check=True, env=_env(), cwd=ref_dir, capture_output=True, timeout=300)

    cfg = _config(run_dir, tiny_model_dir, epochs=2, dev_file=None)
    proc = subprocess.Popen([*cmd, str(cfg)], env=_env(SEAEMBED_TRAIN_STEP_DELAY="0.4"), cwd=run_dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    per_epoch = sum(1 for r in _seen(ref_dir / "out") if r["epoch"] == 0)

    def far_enough() -> bool:
        steps = _checkpoint_steps(run_dir / "out")
        return len(steps) >= 2 if kill_epoch == 0 else any(s > per_epoch for s in steps)

    deadline = time.time() + 240
    while not far_enough() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # land the kill between checkpoints, after at least one more logged step
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (run_dir / "out" / "model").exists()

    done = subprocess.run([*cmd, str(cfg)], env=_env(), cwd=run_dir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    seen, ref = _seen(run_dir / "out"), _seen(ref_dir / "out")
    assert [r["step"] for r in seen] == list(range(1, len(seen) + 1))  # every step once, in order
    for epoch in (0, 1):
        ids = [i for r in seen if r["epoch"] == epoch for i in r["ids"]]
        assert Counter(ids) == Counter(range(80)), f"epoch {epoch}: examples lost or repeated"
    assert [r["ids"] for r in seen] == [r["ids"] for r in ref]  # the same data order as an uninterrupted run
    discarded = run_dir / "out" / "examples_discarded.jsonl"
    assert discarded.exists()  # the killed run had logged steps past its last checkpoint; they were set aside
    resumed_from = json.loads(discarded.read_text().splitlines()[0])["discarded_at_resume_from"]
    assert (resumed_from > per_epoch) == (kill_epoch == 1)  # resumed inside the intended epoch
    a, b = _weights(ref_dir / "out" / "model"), _weights(run_dir / "out" / "model")
    assert set(a) == set(b)
    assert all(torch.equal(a[k], b[k]) for k in a)  # and the same final model, bit for bit


def _toy_batch():
    """6 rows (query, positive, one hard negative) of 5-d inputs, class keys with same-class pairs split across the
    two halves, and fingerprints with a positive duplicated across the halves (CAM rules (a) and (b) cross ranks)."""
    gen = torch.Generator().manual_seed(0)
    cols = [torch.randn(6, 5, generator=gen, dtype=torch.float64) for _ in range(3)]
    keys = torch.tensor([0, 1, -1, 0, 1, -1])
    fps = [torch.arange(6) + 100 * c for c in range(3)]
    fps[1][4] = fps[1][1]  # row 4's positive is token-identical to row 1's
    return cols, keys, fps


def _toy_embedder():
    torch.manual_seed(0)
    return torch.nn.Linear(5, 4, dtype=torch.float64)


def _gathered(loss, embedder, cols, keys, fps):
    """Loss, gathered logits (query x candidate, padding rows removed), per-row losses, and parameter gradients."""
    from seaembed.train.losses.cam_infonce import cos_sim

    embs = [embedder(c) for c in cols]
    batch = loss.prepare(embs, keys, fps)
    rows = batch.rows
    docs = batch.docs.view(batch.columns, rows, -1)[:, batch.valid].reshape(-1, batch.docs.shape[-1])
    logits = cos_sim(batch.queries[batch.valid], docs) / loss.temperature
    value = loss.row_losses(batch, 0, batch.local_rows).mean()
    embedder.zero_grad()
    value.backward()
    return value.detach(), logits.detach(), [p.grad.clone() for p in embedder.parameters()]


def _gather_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from seaembed.train.losses import CAMInfoNCELoss

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        cols, keys, fps = _toy_batch()
        part = slice(3 * rank, 3 * rank + 3)
        embedder = _toy_embedder()
        loss = CAMInfoNCELoss(embedder, gather_across_devices=True)
        value, logits, grads = _gathered(loss, embedder, [c[part] for c in cols], keys[part],
                                         [f[part] for f in fps])
        for g in grads:  # what DDP does with the gradients: average them over the processes
            dist.all_reduce(g)
            g /= world
        values = [torch.zeros((), dtype=torch.float64) for _ in range(world)]
        dist.all_gather(values, value)
        torch.save({"values": values, "logits": logits, "grads": grads}, os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_process_gather_equals_one_process_on_the_concatenated_batch(tmp_path):
    """gloo, 2 processes of 3 rows each: the gathered logits and the (DDP-averaged) gradients are those of one
    process computing the loss on all 6 rows, cross-process masking included."""
    import torch.multiprocessing as mp

    from seaembed.train.losses import CAMInfoNCELoss

    mp.spawn(_gather_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]

    cols, keys, fps = _toy_batch()
    embedder = _toy_embedder()
    value, logits, grads = _gathered(CAMInfoNCELoss(embedder), embedder, cols, keys, fps)
    for r, got in enumerate(ranks):
        assert torch.allclose(got["logits"], logits, atol=1e-12), f"rank {r}: gathered logits differ"
        for g_dist, g_one in zip(got["grads"], grads, strict=True):
            assert g_one.abs().max() > 1e-3
            assert torch.allclose(g_dist, g_one, atol=1e-10), f"rank {r}: gradients differ"
    # the per-process losses are the means of their own rows; their mean is the one-process loss
    assert torch.allclose(sum(ranks[0]["values"]) / 2, value, atol=1e-12)
    # and masking matters here: without gathering each process would see only its own 3 rows
    local = CAMInfoNCELoss(embedder)
    _, local_logits, _ = _gathered(local, embedder, [c[:3] for c in cols], keys[:3], [f[:3] for f in fps])
    assert local_logits.shape != logits.shape


def test_two_processes_gather_negatives(tmp_path, tiny_model_dir):
    cfg = _config(tmp_path, tiny_model_dir, max_steps=3, dev_file=None, checkpoint_steps=100)
    torchrun = VENV_BIN / "torchrun"
    if not torchrun.exists() or shutil.which("true") is None:
        pytest.skip("torchrun not installed")
    done = subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_port", str(_free_port()), "-m", "seaembed.cli",
                           "train", str(cfg)], env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out"
    r0, r1 = _seen(out), _seen(out, "examples_seen.rank1.jsonl")
    assert len(r0) == len(r1) == 3
    for a, b in zip(r0, r1, strict=True):
        assert a["step"] == b["step"] and a["rank"] == 0 and b["rank"] == 1
        assert not set(a["ids"]) & set(b["ids"])  # each process gets its own batch
        columns = 2 if a["ids"][0] < 40 else 1  # title-category rows carry one hard negative
        assert len(a["ids"]) == len(b["ids"])
        assert a["candidates"] == b["candidates"] == 2 * len(a["ids"]) * columns  # world_size x batch candidates
    assert (out / "model" / "model.safetensors").exists()


def test_a_logged_run_has_no_bar_frames(tmp_path, tiny_model_dir):
    """With stderr going to a file, training prints plain lines: the model card's widget bar included (#12 item 3)."""
    cfg = _config(tmp_path, tiny_model_dir, max_seq_length=16)
    log = tmp_path / "train.log"
    with log.open("w") as fh:
        done = subprocess.run([str(VENV_BIN / "seaembed"), "train", str(cfg), "--max-steps", "2"], env=_env(),
                              cwd=tmp_path, stdout=fh, stderr=subprocess.STDOUT, timeout=300)
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text and "\x1b[" not in text, text[-2000:]


def test_gradient_checkpointing_trains_the_same_weights(tmp_path, tiny_model_dir):
    """Checkpointing only trades memory for a second forward: with frozen word embeddings it reaches the weights of a
    plain run."""
    from seaembed.train.config import load_train_config
    from seaembed.train.trainer import train

    outs = {}
    for gc in (False, True):
        d = tmp_path / f"gc{gc}"
        d.mkdir()
        cfg = load_train_config(_config(d, tiny_model_dir, max_steps=2, dev_file=None, gradient_checkpointing=gc))
        outs[gc] = _weights(train(cfg, progress=False))
    base = _weights(tiny_model_dir)
    layer = next(k for k in base if "layer.0.attention.self.query.weight" in k)
    assert not torch.equal(base[layer], outs[True][layer])  # it trained
    for k in base:
        torch.testing.assert_close(outs[True][k], outs[False][k], rtol=1e-4, atol=1e-5)


def test_the_default_run_trains_with_gradcache_so_a_step_stays_small():
    """The plain loss's activations were the default run's memory peak (4.3 GiB in benchmarks/train_memory.py; 1.7
    with GradCache mini-batch 8): both profiles must resolve to the cached loss at that mini-batch."""
    from seaembed.pipeline.config import load_run_config
    from seaembed.train.config import LossConfig

    for profile in ("quick", "full"):
        cfg, _ = load_run_config(None, profile=profile)
        loss = LossConfig(**cfg.train["loss"])
        assert loss.cached and loss.mini_batch_size <= 8, profile
