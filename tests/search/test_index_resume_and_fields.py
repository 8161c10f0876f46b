"""Index resume keyed by the model's weights (not its path); --id-field and --text-fields (#15 items 1, 5)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_search_index import CountingBackend, _engine

from seaembed.errors import InputError
from seaembed.search.search_index import SearchIndex
from seaembed.testing import build_tiny_model


def test_other_weights_at_the_same_path_restart_the_index(tiny_model_dir, catalog_file, tmp_path):
    from seaembed.engine.backends import create_backend
    from seaembed.search.index import build_index

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    out = tmp_path / "idx"
    engine = _engine(CountingBackend(create_backend("torch", model), fail_on_call=3))
    with pytest.raises(RuntimeError, match="simulated interruption"):
        build_index(str(model), catalog_file, out, engine=engine, chunk_size=3, show_progress=False)
    engine.close()
    # retrain into the same path: other weights, same directory
    shutil.rmtree(model)
    build_tiny_model(model, seed=7)
    inner = create_backend("torch", model)
    counting = CountingBackend(inner)
    engine = _engine(counting)
    build_index(str(model), catalog_file, out, engine=engine, chunk_size=3, show_progress=False)
    engine.close()
    assert counting.sequences == 10  # every row re-embedded with the new model, none kept from the old one
    texts = [json.loads(x)["title"] + ". " + json.loads(x)["category"] for x in catalog_file.read_text().splitlines()]
    np.testing.assert_allclose(SearchIndex.load(out).vectors, inner.embed_ids(inner.tokenize(texts, "passage")),
                               atol=1e-5)


def test_id_field_is_the_returned_id_not_the_catalogs_id_column(tiny_model_dir, tmp_path):
    from seaembed.search.index import build_index

    cat = tmp_path / "cat.jsonl"
    cat.write_text("".join(json.dumps({"id": i, "sku": f"SKU-{i}", "title": f"item {i}"}) + "\n" for i in range(4)))
    out = build_index(str(tiny_model_dir), cat, tmp_path / "idx", id_field="sku", text_fields=["title"],
                      show_progress=False)
    ids = [json.loads(line)["id"] for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert ids == ["SKU-0", "SKU-1", "SKU-2", "SKU-3"]


def test_misspelled_text_field_or_id_field_is_an_error(tmp_path):
    from seaembed.search.catalog import read_catalog

    cat = tmp_path / "cat.jsonl"
    cat.write_text('{"sku": "a", "title": "x", "category": "A"}\n{"sku": "b", "title": "y"}\n')
    with pytest.raises(InputError, match=r"cat.jsonl: field 'categroy': no row has a 'categroy' column"):
        read_catalog(cat, text_fields=["title", "categroy"])
    with pytest.raises(InputError, match=r"field 'skuu'"):
        read_catalog(cat, text_fields=["title"], id_field="skuu")
    no_cat = tmp_path / "no_cat.jsonl"
    no_cat.write_text('{"title": "x", "category_path": "A > B"}\n')
    assert read_catalog(no_cat, text_fields=["title", "category"]).texts == ["x"]  # the default pair: as before
    ok = read_catalog(cat, text_fields=["title", "category"], id_field="sku")  # a column only some rows have is fine
    assert ok.ids == ["a", "b"] and ok.texts == ["x. A", "y"]
