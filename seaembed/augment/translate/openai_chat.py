"""An OpenAI-compatible chat-completions backend (vLLM, a llama.cpp server, a hosted API), over httpx.

`ChatClient` posts to `{base_url}/chat/completions` with retries (exponential backoff on connection errors, 429 and
5xx, honouring `Retry-After`) and a timeout. `OpenAITranslator` sends texts in batches as one JSON array per request
and expects a JSON array back. (The `openai` SDK would also do; httpx keeps this a dev-free runtime dependency and
makes batching/retry behaviour explicit and testable.)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from seaembed.augment.translate.base import lang_name
from seaembed.errors import SeaembedError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class ChatClient:
    """Minimal chat-completions client with retries; `complete(messages) -> str`."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 60.0,
                 max_retries: int = 4, backoff: float = 1.0, temperature: float = 0.0,
                 sleep: Any = time.sleep):
        import httpx

        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_retries = max_retries
        self.backoff = backoff
        self.temperature = temperature
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self.requests = 0  # HTTP requests sent, retries included

    @classmethod
    def from_config(cls, cfg: Any) -> ChatClient:
        return cls(cfg.base_url, cfg.model, api_key=os.environ.get(cfg.api_key_env), timeout=cfg.timeout,
                   max_retries=cfg.max_retries, backoff=cfg.backoff, temperature=cfg.temperature)

    def complete(self, messages: list[dict[str, str]], *, temperature: float | None = None) -> str:
        """The assistant's reply text; raises `SeaembedError` once the retries are spent."""
        import httpx

        body = {"model": self.model, "messages": messages,
                "temperature": self.temperature if temperature is None else temperature}
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(min(self.backoff * 2 ** (attempt - 1), 30.0))
            self.requests += 1
            try:
                r = self._http.post(self.url, json=body)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                continue
            if r.status_code in RETRY_STATUS:
                last = f"HTTP {r.status_code}"
                retry_after = r.headers.get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    self._sleep(min(float(retry_after), 30.0))
                continue
            if r.status_code >= 400:
                raise SeaembedError(f"{self.url}: HTTP {r.status_code}: {r.text[:200]}")
            try:
                return r.json()["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError):
                raise SeaembedError(f"{self.url}: not a chat-completions response: {r.text[:200]}") from None
        raise SeaembedError(f"{self.url}: no answer after {self.max_retries + 1} attempts ({last})")

    def close(self) -> None:
        self._http.close()


def parse_json_array(text: str) -> list[Any] | None:
    """The first JSON array in a model reply (code fences and chatter around it are ignored), or None."""
    decoder = json.JSONDecoder()
    start = text.find("[")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
            if isinstance(value, list):
                return value
        except json.JSONDecodeError:
            pass
        start = text.find("[", start + 1)
    return None


TRANSLATE_SYSTEM = (
    "You translate e-commerce text (search queries, product titles). Translate each string of the JSON array the "
    "user sends from {src} to {tgt}. Keep brand names, model numbers, sizes and units as they are; keep the style "
    "(a short query stays a short query). Reply with only a JSON array of {n} strings, in the same order.")


class OpenAITranslator:
    """Translator over an OpenAI-compatible chat endpoint; one request per batch of texts."""

    def __init__(self, client: ChatClient, *, batch_size: int = 16):
        self.client = client
        self.batch_size = batch_size
        self.name = f"openai:{client.url}:{client.model}"

    def supports(self, src: str, tgt: str) -> bool:
        return src != tgt

    def _batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        messages = [{"role": "system", "content": TRANSLATE_SYSTEM.format(src=lang_name(src), tgt=lang_name(tgt),
                                                                         n=len(texts))},
                    {"role": "user", "content": json.dumps(texts, ensure_ascii=False)}]
        out = parse_json_array(self.client.complete(messages))
        if out is not None and len(out) == len(texts) and all(isinstance(x, str) for x in out):
            return [" ".join(x.split()) for x in out]
        if len(texts) == 1:
            raise SeaembedError(f"{self.client.url}: the model did not return a JSON array of 1 string")
        return [t for text in texts for t in self._batch([text], src, tgt)]  # one at a time

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        out: list[str] = []
        for i in range(0, len(texts), self.batch_size):
            out += self._batch(list(texts[i:i + self.batch_size]), src, tgt)
        return out
