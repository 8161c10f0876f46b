"""`seaembed encode` and `seaembed model fetch`: outputs, and one clear line + exit 2 for every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seaembed.models.encode import encode

TEXTS = ["sepatu lari pria", "รองเท้าวิ่ง", "giày chạy bộ nam"]


@pytest.mark.parametrize("fmt", ["txt", "jsonl", "csv"])
def test_encode_formats(fmt: str, tiny_model_dir: Path, tiny_model, tmp_path: Path, seaembed_cli) -> None:
    src = tmp_path / f"in.{fmt}"
    if fmt == "txt":
        src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
        extra: list[str] = []
    elif fmt == "jsonl":
        src.write_text("".join(json.dumps({"id": i, "title": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
                       encoding="utf-8")
        extra = ["--field", "title"]
    else:
        src.write_text("id,title\n" + "".join(f"{i},{t}\n" for i, t in enumerate(TEXTS)), encoding="utf-8")
        extra = ["--field", "title"]
    out = tmp_path / "vec.npy"
    code, stdout, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src),
                                "--output", str(out), "--prompt", "query", "--batch-size", "2", *extra)
    assert code == 0, err
    assert "3 x 32 embeddings" in stdout
    got = np.load(out)
    np.testing.assert_allclose(got, encode(tiny_model, TEXTS, prompt="query"), atol=1e-5)


@pytest.mark.parametrize(
    ("name", "content", "extra", "expected"),
    [
        ("missing.txt", None, [], r"missing\.txt: no such file"),
        ("blank.txt", b"one\n\nthree\n", [], r"blank\.txt:2: empty line"),
        ("bad.txt", b"ok\n\xff\xfe broken\n", [], r"bad\.txt:2: invalid UTF-8"),
        ("list.jsonl", b'{"text": "ok"}\n["not", "an", "object"]\n', [], r"list\.jsonl:2: expected a JSON object"),
        ("nofield.jsonl", b'{"title": "x"}\n', ["--field", "text"], r"nofield\.jsonl:1: field 'text': missing"),
        ("nofield.csv", b"id,title\n1,x\n2,\n", ["--field", "title"], r"nofield\.csv:3: field 'title': missing"),
    ],
)
def test_encode_bad_input(name: str, content: bytes | None, extra: list[str], expected: str, tiny_model_dir: Path,
                          tmp_path: Path, seaembed_cli) -> None:
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "vec.npy"
    code, _, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src),
                           "--output", str(out), *extra)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(expected, err), err
    assert not out.exists()


def test_encode_bad_model_and_output(tiny_model_dir: Path, tmp_path: Path, seaembed_cli) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x\n")
    code, _, err = seaembed_cli("encode", "--model", str(tmp_path / "nomodel"), "--input", str(src),
                           "--output", str(tmp_path / "v.npy"))
    assert code == 2 and "no such model directory" in err and "packaged:multilingual-e5-small" in err
    code, _, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src),
                           "--output", str(tmp_path / "v.txt"))
    assert code == 2 and "expected a .npy file name" in err


def test_model_fetch_writes_a_loadable_directory(tiny_model_dir: Path, tiny_model, tmp_path: Path,
                                                  seaembed_cli) -> None:
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "fetched"
    code, stdout, err = seaembed_cli("model", "fetch", str(tiny_model_dir), "--out", str(out))
    assert code == 0, err
    fetched = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(encode(fetched, TEXTS, prompt="query"), encode(tiny_model, TEXTS, prompt="query"),
                               atol=1e-6)
    code, _, err = seaembed_cli("model", "fetch", str(tiny_model_dir), "--out", str(out))
    assert code == 2 and "already exists and is not empty; pass --force" in err
    code, _, err = seaembed_cli("model", "fetch", str(tiny_model_dir), "--out", str(out), "--force")
    assert code == 0, err


def test_model_fetch_wraps_a_plain_hf_dir(tiny_model_dir: Path, tiny_model, tmp_path: Path,
                                          seaembed_cli) -> None:
    import shutil

    from sentence_transformers import SentenceTransformer

    hf = tmp_path / "hf"
    hf.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_model_dir / name, hf / name)
    out = tmp_path / "st"
    code, _, err = seaembed_cli("model", "fetch", str(hf), "--out", str(out))
    assert code == 0, err
    assert (out / "modules.json").is_file() and (out / "1_Pooling" / "config.json").is_file()
    fetched = SentenceTransformer(str(out), device="cpu")
    np.testing.assert_allclose(encode(fetched, TEXTS), encode(tiny_model, TEXTS), atol=1e-5)


def test_model_fetch_hub_offline_error(tmp_path: Path, monkeypatch, seaembed_cli) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    code, _, err = seaembed_cli("model", "fetch", "intfloat/multilingual-e5-small",
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "HF_HUB_OFFLINE" in err and "packaged:multilingual-e5-small" in err
    assert not (tmp_path / "o").exists()


def test_installed_entry_point_exit_code(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The installed `seaembed` script: a real process, exit status 2 and one line on stderr."""
    exe = Path(sys.executable).parent / "seaembed"
    if not exe.is_file():
        pytest.skip(f"{exe} is not installed")
    (tmp_path / "in.jsonl").write_text('{"text": "ok"}\n"just a string"\n', encoding="utf-8")
    proc = subprocess.run([str(exe), "encode", "--model", str(tiny_model_dir), "--input", str(tmp_path / "in.jsonl"),
                           "--output", str(tmp_path / "v.npy")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SEAEMBED_HOME": str(tmp_path / "home")})
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'in.jsonl'}:2: expected a JSON object, got str"
