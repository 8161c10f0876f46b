"""What OpenAI / infinity clients expect (GET /v1/models, quantised encodings), lone surrogates (400, not 500) and
/docs + /openapi.json behind the key (#15 items 7, 8, 10)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

KEY = "s3cret"


def _app(engine, index_dir=None, **settings):
    from seaembed.search.search_index import SearchIndex
    from seaembed.serve.app import ServerSettings, create_app

    index = SearchIndex.load(index_dir) if index_dir is not None else None
    return create_app(engine, index, ServerSettings(model_name="tiny", **settings), close_engine_on_shutdown=False)


@pytest.fixture(scope="module")
def client(engine, index_dir):
    with TestClient(_app(engine, index_dir, api_key=KEY), headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


# --- 7: lone surrogates -----------------------------------------------------------------------------------------
SURROGATE_BODY = b'{"input": ["ok", "bad \\ud800 text"]}'


def test_lone_surrogate_in_input_is_400_naming_the_item(client):
    r = client.post("/v1/embeddings", content=SURROGATE_BODY, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == "input" and "input[1]" in err["message"] and "U+D800" in err["message"]


def test_lone_surrogate_in_query_is_400(client):
    r = client.post("/search", content=b'{"query": "sepatu \\udfff"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "U+DFFF" in r.json()["error"]["message"]


def test_lone_surrogate_in_an_error_message_does_not_break_the_error(client):
    r = client.post("/search", content=b'{"query": "x", "mode": "\\ud800"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text  # the validation message quotes the bad value


# --- 8: docs behind the key -------------------------------------------------------------------------------------
def test_docs_are_off_by_default_when_a_key_is_set(client):
    bare = TestClient(client.app)
    assert bare.get("/openapi.json").status_code == 404
    assert bare.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 404  # off, not just hidden


def test_docs_when_enabled_with_a_key_need_the_key(engine):
    app = _app(engine, api_key=KEY, docs=True)
    bare = TestClient(app)
    assert bare.get("/openapi.json").status_code == 401
    assert bare.get("/docs").status_code == 401
    authed = TestClient(app, headers={"Authorization": f"Bearer {KEY}"})
    schema = authed.get("/openapi.json").json()
    assert "/v1/embeddings" in schema["paths"] and "/v1/models" in schema["paths"]
    assert "swagger" in authed.get("/docs").text.lower()


def test_docs_are_open_without_a_key(engine):
    bare = TestClient(_app(engine))
    assert bare.get("/openapi.json").status_code == 200 and bare.get("/docs").status_code == 200


# --- 10: /v1/models and encodings -------------------------------------------------------------------------------
def test_models_lists_the_served_model(client):
    for path in ("/v1/models", "/models"):
        body = client.get(path).json()
        assert body["object"] == "list"
        (card,) = body["data"]
        assert card["id"] == "tiny" and card["object"] == "model" and isinstance(card["created"], int)
        assert card["owned_by"] == "seaembed"
    assert TestClient(client.app).get("/v1/models").status_code == 401


TEXTS = ["sepatu lari pria", "tas ransel", "รองเท้าวิ่ง", "giày chạy bộ", "kaos polos hitam"]


def _emb(client, fmt, texts=TEXTS, **extra):
    r = client.post("/v1/embeddings", json={"input": texts, "encoding_format": fmt, **extra})
    assert r.status_code == 200, r.text
    return [d["embedding"] for d in r.json()["data"]]


@pytest.mark.parametrize("dims", [None, 8])
def test_int8_and_uint8_use_the_calibration_ranges(client, dims):
    from sentence_transformers.quantization import quantize_embeddings

    from seaembed.serve.encodings import renormalised_prefix

    extra = {"dimensions": dims} if dims else {}
    floats = np.array(_emb(client, "float", **extra), dtype=np.float32)
    cal = renormalised_prefix(client.portal.call(client.app.state.quantizer.calibration), dims)
    assert cal.shape[0] == 400  # 200 bundled titles + 200 bundled queries
    for fmt, dtype in (("int8", np.int8), ("uint8", np.uint8)):
        got = np.array(_emb(client, fmt, **extra))
        want = quantize_embeddings(floats, precision=fmt, calibration_embeddings=cal)
        assert got.dtype.kind == "i" and got.shape == floats.shape
        np.testing.assert_array_equal(got, want.astype(np.int64))
        info = np.iinfo(dtype)
        assert got.min() >= info.min and got.max() <= info.max


def test_int8_codes_do_not_depend_on_the_other_texts_of_the_request(client):
    alone = _emb(client, "int8", [TEXTS[0]])[0]
    together = _emb(client, "int8")[0]
    assert alone == together  # fixed calibration: a 1-text request gets the same codes as in a batch


def test_binary_and_ubinary_pack_the_signs(client):
    floats = np.array(_emb(client, "float"), dtype=np.float32)
    ub = np.array(_emb(client, "ubinary"))
    b = np.array(_emb(client, "binary"))
    assert ub.shape == (len(TEXTS), 32 // 8)
    np.testing.assert_array_equal(ub, np.packbits(floats > 0, axis=-1))
    np.testing.assert_array_equal(b, ub - 128)
    bits = np.unpackbits(ub.astype(np.uint8), axis=-1)
    np.testing.assert_array_equal(bits.astype(bool), floats > 0)


def test_base64_still_decodes_to_the_floats(client):
    floats = np.array(_emb(client, "float"), dtype=np.float32)
    decoded = np.array([np.frombuffer(base64.b64decode(e), dtype="<f4") for e in _emb(client, "base64")])
    np.testing.assert_allclose(decoded, floats, atol=1e-7)
