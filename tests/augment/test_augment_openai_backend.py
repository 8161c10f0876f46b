"""The OpenAI-compatible backend against a local chat-completions server started here (127.0.0.1)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seaembed.augment.config import BackendConfig
from seaembed.augment.records import Product
from seaembed.augment.synthetic.llm import llm_queries
from seaembed.augment.translate import make_translator
from seaembed.augment.translate.cache import TranslationCache
from seaembed.augment.translate.openai_chat import ChatClient, parse_json_array
from seaembed.errors import SeaembedError


class ChatServer:
    """A chat-completions server: fails the first `fail_first` requests with HTTP 503, then translates a JSON array
    (prefixing the target language name) or answers three grounded queries."""

    def __init__(self, fail_first: int = 1, always_fail: bool = False):
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if outer.always_fail or len(outer.requests) <= outer.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                system, user = body["messages"][0]["content"], body["messages"][1]["content"]
                if system.startswith("You write realistic"):
                    title = json.loads(user)["title"]
                    reply = "Here you go:\n```json\n" + json.dumps([f"{title.lower()} murah", "cari " + title,
                                                                      title]) + "\n```"
                else:
                    tgt = system.split(" to ")[1].split(".")[0]
                    reply = json.dumps([f"[{tgt}] {t}" for t in json.loads(user)])
                data = json.dumps({"id": "x", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _cfg(url, **kw):
    return BackendConfig(kind="openai", base_url=url, model="m", backoff=0.01, batch_size=2, **kw)


def test_retries_batching_and_caching(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    texts = ["sepatu lari", "tas kulit", "kaos hitam", "sepatu lari"]
    with ChatServer(fail_first=1) as server:
        t = make_translator(_cfg(server.url), tmp_path)
        out = t.translate(texts, "id", "ms")
        assert out == ["[Malay] sepatu lari", "[Malay] tas kulit", "[Malay] kaos hitam", "[Malay] sepatu lari"]
        # 1 failed + 2 batches (3 distinct texts, batch size 2)
        assert len(server.requests) == 3
        assert [json.loads(r["body"]["messages"][1]["content"]) for r in server.requests[1:]] == [
            ["sepatu lari", "tas kulit"], ["kaos hitam"]]
        assert server.requests[0]["path"] == "/v1/chat/completions" and server.requests[0]["auth"] == "Bearer sk-test"
        again = make_translator(_cfg(server.url), tmp_path).translate(texts, "id", "ms")  # rerun: all cached
        assert again == out and len(server.requests) == 3


def test_gives_up_with_a_clear_error_after_the_retries():
    with ChatServer(always_fail=True) as server:
        client = ChatClient(server.url, "m", max_retries=2, backoff=0.0)
        with pytest.raises(SeaembedError, match=r"no answer after 3 attempts \(HTTP 503\)"):
            client.complete([{"role": "user", "content": "hi"}])
        assert len(server.requests) == 3


def test_unreachable_endpoint_is_a_clear_error():
    client = ChatClient("http://127.0.0.1:9/v1", "m", max_retries=1, backoff=0.0, timeout=2)
    with pytest.raises(SeaembedError, match="no answer after 2 attempts"):
        client.complete([{"role": "user", "content": "hi"}])


def test_grounded_llm_queries_are_parsed_and_cached(tmp_path):
    p = Product(id="p1", title="Sepatu Lari Pria", description="ringan", category=["Fashion", "Sepatu"],
                attributes={"warna": "hitam"})
    with ChatServer(fail_first=0) as server:
        client = ChatClient(server.url, "m", backoff=0.0)
        cache = TranslationCache(tmp_path / "c.sqlite")
        out = llm_queries(client, [p], {"p1": "id"}, n=2, cache=cache)
        assert out == {"p1": ["sepatu lari pria murah", "cari Sepatu Lari Pria"]}
        prompt = json.loads(server.requests[0]["body"]["messages"][1]["content"])
        assert prompt == {"title": "Sepatu Lari Pria", "category": "Fashion > Sepatu", "attributes": {"warna": "hitam"},
                          "description": "ringan"}
        assert "Indonesian" in server.requests[0]["body"]["messages"][0]["content"]
        assert llm_queries(client, [p], {"p1": "id"}, n=2, cache=cache) == out
        assert len(server.requests) == 1


def test_parse_json_array_tolerates_chatter():
    assert parse_json_array('Sure!\n```json\n["a [1]", "b"]\n```') == ["a [1]", "b"]
    assert parse_json_array("no array") is None
