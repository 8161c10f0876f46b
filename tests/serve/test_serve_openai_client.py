"""The official `openai` Python client against a real uvicorn server on loopback."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def live_url(onnx_dir):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.serve.app import ServerSettings, create_app
    from seaembed.serve.server import BackgroundServer

    engine = Engine(create_backend("onnx", onnx_dir, threads=1))
    app = create_app(engine, None, ServerSettings(model_name="tiny-e5", api_key="k-123"))
    with BackgroundServer(app) as url:
        yield url
    assert engine._closed  # the lifespan shutdown drained and closed the engine


def test_openai_client_float_and_base64(live_url, onnx_backend):
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_url}/v1", api_key="k-123", max_retries=0, timeout=30)
    texts = ["sepatu lari pria", "รองเท้าวิ่ง", "giày chạy bộ"]
    ref = onnx_backend.embed_ids(onnx_backend.tokenize(texts, "query"))

    as_float = client.embeddings.create(model="tiny-e5", input=texts, encoding_format="float")
    got = np.array([d.embedding for d in as_float.data], dtype=np.float32)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert as_float.model == "tiny-e5" and as_float.usage.prompt_tokens > len(texts)

    as_b64 = client.embeddings.create(model="tiny-e5", input=texts, encoding_format="base64")
    # asked for explicitly, base64 comes back as the string: little-endian float32 bytes
    import base64

    got64 = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in as_b64.data])
    np.testing.assert_allclose(got64, ref, atol=1e-5)

    # with no encoding_format the client asks for base64 and decodes it to floats itself
    default = client.embeddings.create(model="tiny-e5", input="sepatu", dimensions=16)
    assert len(default.data[0].embedding) == 16 and isinstance(default.data[0].embedding[0], float)

    passage = client.embeddings.create(model="tiny-e5", input=["sepatu"], extra_body={"input_type": "passage"})
    ref_p = onnx_backend.embed_ids(onnx_backend.tokenize(["sepatu"], "passage"))[0]
    np.testing.assert_allclose(np.array(passage.data[0].embedding), ref_p, atol=1e-5)


def test_openai_client_sees_errors(live_url):
    import openai

    bad_key = openai.OpenAI(base_url=f"{live_url}/v1", api_key="nope", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError):
        bad_key.embeddings.create(model="m", input="x")
    client = openai.OpenAI(base_url=f"{live_url}/v1", api_key="k-123", max_retries=0, timeout=30)
    with pytest.raises(openai.BadRequestError, match="dimensions=999 is not supported"):
        client.embeddings.create(model="m", input="x", dimensions=999)
    with pytest.raises(openai.BadRequestError, match="empty list"):
        client.embeddings.create(model="m", input=[])


def test_openai_client_lists_models_and_takes_quantised_formats(live_url):
    from openai import OpenAI

    client = OpenAI(base_url=f"{live_url}/v1", api_key="k-123", max_retries=0, timeout=30)
    assert [m.id for m in client.models.list().data] == ["tiny-e5"]
    # the client's type says float|base64, but it passes other formats through (as infinity's users send them)
    resp = client.embeddings.create(model="tiny-e5", input=["sepatu"], encoding_format="ubinary")
    assert resp.data[0].embedding == [int(v) for v in resp.data[0].embedding] and len(resp.data[0].embedding) == 4
