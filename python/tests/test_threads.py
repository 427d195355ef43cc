"""Threads generating on one model at once: independent sessions, compute
serialized per model, results equal to the serial ones."""

from __future__ import annotations

import threading

import bitnet

PROMPT = "Once upon a time"
SEEDS = 16
THREADS = 8
ROUNDS = 50


def _cfg(seed: int) -> bitnet.GenerationConfig:
    return bitnet.GenerationConfig(max_new_tokens=8, temperature=0.9, top_k=40, seed=seed)


def test_eight_threads_for_fifty_rounds_match_the_serial_results(stories):
    serial = {s: stories.generate(PROMPT, _cfg(s)) for s in range(SEEDS)}
    assert len(set(serial.values())) > 1, "the seeds must give different texts for the test to mean anything"
    mismatches = []
    failures = []
    start = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        try:
            start.wait()
            for r in range(ROUNDS):
                seed = (t * 7 + r) % SEEDS
                if (t + r) % 3 == 2:
                    got = "".join(stories.generate_stream(PROMPT, _cfg(seed)))
                else:
                    got = stories.generate(PROMPT, _cfg(seed))
                if got != serial[seed]:
                    mismatches.append((t, r, seed, got, serial[seed]))
        except BaseException as e:  # reported below
            failures.append((t, repr(e)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "a generating thread hung"
    assert not failures, failures
    assert not mismatches, mismatches[:3]
    assert stories._core.users == 0
    assert len(stories._core.idle) <= bitnet.model.MAX_IDLE_SESSIONS


def test_tokenizer_is_shared_safely_between_threads(stories):
    tok = stories.tokenizer
    texts = [f"Lily had {i} red balls and {i + 1} blue ones." for i in range(20)]
    want = {t: tok.encode(t) for t in texts}
    bad = []

    def worker() -> None:
        for _ in range(20):
            for t in texts:
                ids = tok.encode(t)
                if ids != want[t] or tok.decode(ids).strip() != t:
                    bad.append(t)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not bad
